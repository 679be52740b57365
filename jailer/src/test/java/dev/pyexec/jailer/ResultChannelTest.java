package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ResultChannelTest {
  private static ResultChannel read(String text, String nonce) {
    ResultChannel channel = new ResultChannel(1 << 20);
    channel.expect(nonce);
    channel.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    return channel;
  }

  @Test
  void theFrameWithTheExpectedNonceIsTheResult() {
    ResultChannel channel = read("\u001ePYEXEC-READY\n\n\u001ePYEXEC abc {\"status\":\"ok\",\"result\":1}\n", "abc");
    assertThat(channel.sawReady()).isTrue();
    assertThat(channel.frame().join()).isEqualTo("{\"status\":\"ok\",\"result\":1}");
  }

  @Test
  void aFrameWithAnotherNonceIsIgnored() {
    ResultChannel channel = read("\u001ePYEXEC-READY\n\u001ePYEXEC forged {\"status\":\"ok\",\"result\":1}\n", "abc");
    assertThat(channel.frame().join()).isNull();
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
