package dev.pyexec.function;

import static com.google.common.truth.Truth.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DisconnectWatcherTest {
  private final DisconnectWatcher watcher = new DisconnectWatcher(Duration.ofMillis(50));

  @Test
  void namesAnIpv4ConnectionAsProcNetTcpAndTcp6PrintIt() throws Exception {
    ClientConnection c = new ClientConnection(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8080),
        new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 40000), null);
    assertThat(DisconnectWatcher.key(c, false)).isEqualTo("1F90 0100007F:9C40");
    assertThat(DisconnectWatcher.key(c, true)).isEqualTo("1F90 0000000000000000FFFF00000100007F:9C40");
  }

  @Test
  void aClientThatClosesItsConnectionIsReported() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        Socket client = new Socket("127.0.0.1", listener.getLocalPort());
        Socket accepted = listener.accept()) {
      CountDownLatch gone = new CountDownLatch(1);
      try (DisconnectWatcher.Watch watch = watcher.watch(Optional.of(connectionOf(accepted)), gone::countDown)) {
        assertThat(gone.await(300, TimeUnit.MILLISECONDS)).isFalse();
        client.close();
        assertThat(gone.await(2, TimeUnit.SECONDS)).isTrue();
      }
    }
  }

  @Test
  void aConnectionThatStaysOpenIsNotReported() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
        Socket client = new Socket("127.0.0.1", listener.getLocalPort());
        Socket accepted = listener.accept()) {
      CountDownLatch gone = new CountDownLatch(1);
      try (DisconnectWatcher.Watch watch = watcher.watch(Optional.of(connectionOf(accepted)), gone::countDown)) {
        assertThat(gone.await(500, TimeUnit.MILLISECONDS)).isFalse();
      }
    }
  }

  private static ClientConnection connectionOf(Socket accepted) {
    return new ClientConnection((InetSocketAddress) accepted.getLocalSocketAddress(),
        (InetSocketAddress) accepted.getRemoteSocketAddress(), null);
  }
}
