package dev.pyexec.function;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Notices when the client of a running request has hung up, so its execution can be ended
 * instead of running to its timeout for nobody. Jetty only sees a closed connection when it
 * reads or writes, and it does neither while the function runs; the kernel knows at once: the
 * connection leaves ESTABLISHED (CLOSE_WAIT after the client's FIN) or disappears (after its
 * RST). One daemon thread reads /proc/net/tcp and tcp6 a few times a second while any request
 * is watched. A connection never found there (another platform, an unexpected format) is never
 * reported: the execution then runs to its end, as without the watcher.
 */
final class DisconnectWatcher {
  private static final Path TCP = Path.of("/proc/net/tcp");
  private static final Path TCP6 = Path.of("/proc/net/tcp6");
  private static final String ESTABLISHED = "01";

  private final Duration every;
  private final Map<Watch, Boolean> watched = new ConcurrentHashMap<>();
  private final Object lock = new Object();
  private Thread thread;

  DisconnectWatcher(Duration every) {
    this.every = every;
  }

  /** Watches the connection until the returned handle is closed; {@code onGone} runs at most once. */
  Watch watch(Optional<ClientConnection> connection, Runnable onGone) {
    if (connection.isEmpty()) {
      return new Watch("-", "-", onGone);
    }
    ClientConnection c = connection.get();
    Watch watch = new Watch(key(c, false), key(c, true), onGone);
    watched.put(watch, Boolean.TRUE);
    ensureRunning();
    return watch;
  }

  private void ensureRunning() {
    synchronized (lock) {
      if (thread == null) {
        thread = new Thread(this::loop, "client-disconnect-watcher");
        thread.setDaemon(true);
        thread.start();
      }
    }
  }

  private void loop() {
    while (true) {
      try {
        Thread.sleep(every.toMillis());
      } catch (InterruptedException e) {
        return;
      }
      if (watched.isEmpty()) {
        continue;
      }
      Map<String, String> states = new java.util.HashMap<>();
      read(TCP, states);
      read(TCP6, states);
      for (Watch watch : watched.keySet()) {
        String state = states.getOrDefault(watch.key4, states.get(watch.key6));
        if (state != null && state.equals(ESTABLISHED)) {
          watch.seen = true;
        } else if (state != null || watch.seen) {
          watched.remove(watch);
          watch.gone();
        }
      }
    }
  }

  /** Connection key (local port, remote address and port, as /proc prints them) to its state. */
  private static void read(Path table, Map<String, String> states) {
    try {
      for (String line : Files.readAllLines(table)) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 4 || !f[1].contains(":")) {
          continue;
        }
        String localPort = f[1].substring(f[1].indexOf(':') + 1);
        states.put(localPort + " " + f[2], f[3]);
      }
    } catch (IOException | RuntimeException e) {
      // No such table here (no IPv6, not Linux): nothing is found, nothing is reported.
    }
  }

  /** How /proc/net/tcp (v4) or tcp6 (v6, a v4 client as ::ffff:a.b.c.d) names the connection. */
  static String key(ClientConnection c, boolean v6) {
    InetAddress remote = c.remote().getAddress();
    byte[] address = remote.getAddress();
    if (v6 && remote instanceof Inet4Address) {
      byte[] mapped = new byte[16];
      mapped[10] = (byte) 0xff;
      mapped[11] = (byte) 0xff;
      System.arraycopy(address, 0, mapped, 12, 4);
      address = mapped;
    } else if (v6 != (address.length == 16)) {
      return "-";
    }
    // The kernel prints each 32-bit word of the address in host (little-endian) byte order.
    StringBuilder hex = new StringBuilder();
    for (int word = 0; word < address.length; word += 4) {
      for (int b = 3; b >= 0; b--) {
        hex.append(HexFormat.of().toHexDigits(address[word + b]));
      }
    }
    return String.format(Locale.ROOT, "%04X %s:%04X", c.local().getPort(), hex.toString().toUpperCase(Locale.ROOT),
        c.remote().getPort());
  }

  /** One watched request; closing it stops the watch. */
  final class Watch implements AutoCloseable {
    private final String key4;
    private final String key6;
    private final Runnable onGone;
    private volatile boolean seen;

    private Watch(String key4, String key6, Runnable onGone) {
      this.key4 = key4;
      this.key6 = key6;
      this.onGone = onGone;
    }

    private void gone() {
      onGone.run();
    }

    @Override
    public void close() {
      watched.remove(this);
    }
  }
}
