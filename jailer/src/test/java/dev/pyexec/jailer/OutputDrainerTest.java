package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class OutputDrainerTest {
  private static CapturedOutput drain(String stream, int limit, int readSize) {
    OutputDrainer drainer = new OutputDrainer(limit, CompletableFuture.completedFuture("n0nce"));
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    InputStream in = new ByteArrayInputStream(bytes) {
      @Override
      public synchronized int read(byte[] b, int off, int len) {
        return super.read(b, off, Math.min(len, readSize));
      }
    };
    drainer.drain(in);
    return drainer.output().join();
  }

  @Test
  void outputEndsAtTheRunnersMarker() {
    CapturedOutput out = drain("hello\n\u001ePYEXEC-END n0nce\nlate writer", 1024, 4096);
    assertThat(out.text()).isEqualTo("hello\n");
    assertThat(out.truncated()).isFalse();
  }

  @Test
  void markerSplitAcrossReadsIsFound() {
    CapturedOutput out = drain("abc\u001ePYEXEC-END n0nce\n", 1024, 3);
    assertThat(out.text()).isEqualTo("abc");
  }

  @Test
  void markerWithAnotherNonceIsJustOutput() {
    CapturedOutput out = drain("\u001ePYEXEC-END forged\nrest", 1024, 4096);
    assertThat(out.text()).isEqualTo("\u001ePYEXEC-END forged\nrest");
  }

  @Test
  void outputPastTheCapIsCutAndMarkedTruncated() {
    CapturedOutput out = drain("x".repeat(5000) + "\u001ePYEXEC-END n0nce\n", 1000, 512);
    assertThat(out.bytes().length).isEqualTo(1000);
    assertThat(out.truncated()).isTrue();
  }

  @Test
  void withoutMarkerOutputEndsAtEof() {
    CapturedOutput out = drain("all of it", 1024, 2);
    assertThat(out.text()).isEqualTo("all of it");
  }
}
