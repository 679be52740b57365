package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ResultChannelTest {
  private static final String BODY = "{\"status\":\"ok\",\"result\":1}\n1";

  private static ResultChannel read(String text, String nonce) {
    return read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), nonce);
  }

  private static ResultChannel read(InputStream in, String nonce) {
    ResultChannel channel = new ResultChannel(1 << 20);
    channel.expect(nonce);
    channel.read(in);
    return channel;
  }

  private static String frame(String nonce, String body) {
    return "\n\u001ePYEXEC " + nonce + " " + body.getBytes(StandardCharsets.UTF_8).length + "\n" + body;
  }

  @Test
  void theFrameWithTheExpectedNonceIsTheResult() {
    ResultChannel channel = read("\u001ePYEXEC-READY\n" + frame("abc", BODY), "abc");
    assertThat(channel.sawReady()).isTrue();
    assertThat(new String(channel.frame().join().body(), StandardCharsets.UTF_8)).isEqualTo(BODY);
  }

  @Test
  void aFrameWithAnotherNonceIsIgnored() {
    ResultChannel channel = read("\u001ePYEXEC-READY\n" + frame("forged", BODY), "abc");
    assertThat(channel.frame().join()).isNull();
  }

  @Test
  void aForgedLengthWithAnotherNonceDoesNotSwallowTheRealFrame() {
    ResultChannel channel = read("\n\u001ePYEXEC forged 999999\n" + frame("abc", BODY), "abc");
    assertThat(new String(channel.frame().join().body(), StandardCharsets.UTF_8)).isEqualTo(BODY);
  }

  @Test
  void aFrameCutShortIsNoFrame() {
    ResultChannel channel = read("\n\u001ePYEXEC abc 100\n{\"status\"", "abc");
    assertThat(channel.frame().join()).isNull();
  }

  @Test
  void aFrameOverTheLimitIsRefusedWithoutReadingItIntoMemory() {
    long limit = JobLimits.frameLimit(1 << 20);
    InputStream endless = new InputStream() {
      private long left = limit + 10_000_000L;

      @Override
      public int read() {
        return left-- > 0 ? 'x' : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (left <= 0) {
          return -1;
        }
        int n = (int) Math.min(len, left);
        java.util.Arrays.fill(b, off, off + n, (byte) 'x');
        left -= n;
        return n;
      }
    };
    InputStream in = new SequenceInputStream(new ByteArrayInputStream(
        ("\n\u001ePYEXEC abc " + (limit + 1) + "\n").getBytes(StandardCharsets.US_ASCII)), endless);
    ResultChannel channel = read(in, "abc");
    assertThat(channel.frame().join().oversize()).isTrue();
    assertThat(channel.diagnostics().length()).isAtMost(ResultChannel.DIAGNOSTICS_LIMIT + 2100);
  }

  @Test
  void endlessDiagnosticsAreCapped() {
    ResultChannel channel = read(("noise ".repeat(1000) + "\n").repeat(1000), "abc");
    assertThat(channel.diagnostics().length()).isAtMost(ResultChannel.DIAGNOSTICS_LIMIT + 2100);
  }

  @Test
  void nsjailMessagesAreKeptAsDiagnostics() {
    ResultChannel channel = read("[E][2026-11-25T09:00:00+0000] mount('/proc'): Permission denied\n", "abc");
    assertThat(channel.diagnostics()).contains("mount('/proc'): Permission denied");
  }

  @Test
  void theLoadersSymbolVersionWarningsAreNotDiagnostics() {
    ResultChannel channel = read("/usr/local/bin/nsjail: /lib/x86_64-linux-gnu/libnl-3.so.200: no version "
        + "information available (required by /usr/local/bin/nsjail)\n", "abc");
    assertThat(channel.diagnostics()).isEmpty();
  }
}
