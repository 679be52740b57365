package dev.pyexec.jailer.template;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.pyexec.jailer.Cgroups;
import dev.pyexec.jailer.Flavour;
import dev.pyexec.jailer.Jail;
import dev.pyexec.jailer.JailProcess;
import dev.pyexec.jailer.NsjailCommand;
import dev.pyexec.jailer.SandboxException;
import dev.pyexec.jailer.SandboxProfile;
import dev.pyexec.jailer.SandboxSettings;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * One template: a long-lived nsjail whose zygote (zygote.py) has imported a flavour's libraries
 * and forks each execution into a sandbox of its own. This class starts it, asks it for
 * children over its Unix socket, relays kills, learns how each child ended, and ends it.
 */
public final class Template implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Gson GSON = new Gson();
  private static final Duration EXIT_GRACE = Duration.ofSeconds(2);
  private static final int DIAGNOSTICS_LIMIT = 16 * 1024;
  private static final String LOADER_NOISE = ": no version information available (required by ";
  /** /dev/shm of each child, as the one-shot policy's. */
  private static final long SHM_BYTES = 16L << 20;
  /** Scripts run at the lowest priority, as in one-shot jails (nsjail's default): the server and the template come first. */
  private static final int NICE = 19;

  private final Flavour flavour;
  private final Process process;
  private final Path hostDir;
  private final TemplateCgroups cgroups;
  private final Instant startedAt = Instant.now();
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Map<String, CompletableFuture<Integer>> running = new ConcurrentHashMap<>();
  private final AtomicLong forks = new AtomicLong();
  private final StringBuilder diagnostics = new StringBuilder();
  private final ExecutorService io;
  private volatile boolean retired;
  private volatile boolean closed;
  private boolean released;

  private Template(Flavour flavour, Process process, Path hostDir, TemplateCgroups cgroups, ExecutorService io) {
    this.flavour = flavour;
    this.process = process;
    this.hostDir = hostDir;
    this.cgroups = cgroups;
    this.io = io;
  }

  /** Starts a template and waits until its zygote serves. */
  public static Template start(Flavour flavour, SandboxProfile profile, Cgroups platformCgroups, SandboxSettings settings,
      NsjailCommand command, int hostUid, ExecutorService io, Duration wait) throws SandboxException {
    Path hostDir = null;
    TemplateCgroups cgroups = TemplateCgroups.none();
    try {
      hostDir = Files.createTempDirectory("pyexec-template-",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Files.setAttribute(hostDir, "unix:uid", hostUid);
      Files.setAttribute(hostDir, "unix:gid", hostUid);
      cgroups = TemplateCgroups.forTemplate(profile.cgroups(), platformCgroups, hostUid, settings);
      ProcessBuilder builder = new ProcessBuilder(command.buildTemplate(hostUid, hostDir, cgroups.bindMounts(),
          zygoteSettings(flavour, profile, settings, cgroups)));
      builder.environment().clear();
      builder.directory(new java.io.File("/"));
      Template template = new Template(flavour, builder.start(), hostDir, cgroups, io);
      template.listen();
      if (!template.awaitReady(wait)) {
        String why = template.diagnostics();
        template.close();
        throw new SandboxException("the " + flavour.name().toLowerCase() + " template did not come up within "
            + wait.toSeconds() + " s" + (why.isEmpty() ? "" : ": " + why.strip()));
      }
      try {
        cgroups.adoptZygote(template.zygotePid());
      } catch (IOException | RuntimeException e) {
        template.close();
        throw new SandboxException("cannot move the template into its cgroup: " + e.getMessage(), e);
      }
      return template;
    } catch (IOException e) {
      cgroups.removeAll();
      deleteTree(hostDir);
      throw new SandboxException("cannot start a template: " + e.getMessage(), e);
    }
  }

  /** What each child needs to make its sandbox (zygote.py reads it). */
  private static String zygoteSettings(Flavour flavour, SandboxProfile profile, SandboxSettings settings,
      TemplateCgroups cgroups) {
    JsonObject json = new JsonObject();
    JsonArray preloads = new JsonArray();
    for (String name : flavour.preload().split(",")) {
      if (!name.isEmpty()) {
        preloads.add(name);
      }
    }
    json.add("preloads", preloads);
    json.addProperty("proc", profile.procfs());
    JsonArray controllers = new JsonArray();
    cgroups.controllers().forEach(controllers::add);
    json.add("cgroups", controllers);
    json.addProperty("tmpfs_bytes", (long) settings.tmpfsMb() << 20);
    json.addProperty("shm_bytes", SHM_BYTES);
    json.addProperty("nice", NICE);
    JsonObject limits = new JsonObject();
    limits.addProperty("as", (long) NsjailCommand.addressSpaceMb(settings, profile) << 20);
    limits.addProperty("nproc", settings.maxProcesses());
    limits.addProperty("fsize", (long) settings.maxFileMb() << 20);
    limits.addProperty("nofile", 256);
    limits.addProperty("core", 0);
    // The runner lowers it to the request's timeout once the script arrives.
    limits.addProperty("cpu", settings.maxTimeout().toSeconds() + 5);
    json.add("rlimits", limits);
    return GSON.toJson(json);
  }

  private void listen() {
    io.execute(() -> {
      try (BufferedReader events = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII))) {
        String line;
        while ((line = events.readLine()) != null) {
          event(line);
        }
      } catch (IOException | RuntimeException e) {
        note("reading the template's events failed: " + e);
      } finally {
        // The zygote is gone, and its PID namespace with every child in it: release what it held.
        ready.complete(null);
        close();
      }
    });
    io.execute(() -> {
      try (BufferedReader errors = new BufferedReader(
          new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = errors.readLine()) != null) {
          if (!(line.endsWith(")") && line.contains(LOADER_NOISE))) {
            note(line);
          }
        }
      } catch (IOException e) {
        // Ended with the process.
      }
    });
  }

  private void event(String line) {
    String[] parts = line.split(" ");
    if (parts.length == 1 && parts[0].equals("ready")) {
      ready.complete(null);
    } else if (parts.length == 3 && parts[0].equals("exit")) {
      CompletableFuture<Integer> exit = running.remove(parts[1]);
      if (exit != null) {
        exit.complete(exitCode(Integer.parseInt(parts[2])));
      }
      if (retired && running.isEmpty()) {
        io.execute(this::close);
      }
    } else {
      note(line);
    }
  }

  /** A wait status as nsjail reports one: the exit code, or 128 + the signal. */
  static int exitCode(int waitStatus) {
    int signal = waitStatus & 0x7f;
    return signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal;
  }

  private boolean awaitReady(Duration wait) {
    try {
      ready.get(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
    return isServing();
  }

  /** The zygote's host pid: nsjail's only child. */
  private long zygotePid() {
    return process.toHandle().children().findFirst()
        .orElseThrow(() -> new IllegalStateException("the template's nsjail has no child")).pid();
  }

  boolean isServing() {
    return !closed && !retired && process.isAlive();
  }

  long forks() {
    return forks.get();
  }

  Instant startedAt() {
    return startedAt;
  }

  Flavour flavour() {
    return flavour;
  }

  synchronized String diagnostics() {
    return diagnostics.toString();
  }

  private synchronized void note(String line) {
    if (diagnostics.length() < DIAGNOSTICS_LIMIT) {
      diagnostics.append(line.length() > 2000 ? line.substring(0, 2000) + "..." : line).append('\n');
    }
  }

  /** A new execution: a child of the zygote in a sandbox of its own, waiting for its job. */
  JailProcess fork() throws SandboxException {
    if (!isServing()) {
      throw new SandboxException("the " + flavour.name().toLowerCase() + " template is not serving");
    }
    String token = HexFormat.of().formatHex(randomBytes());
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    String cgroup = "-";
    SocketChannel ctl = null;
    SocketChannel out = null;
    try {
      cgroup = cgroups.take();
      running.put(token, exit);
      UnixDomainSocketAddress address = UnixDomainSocketAddress.of(hostDir.resolve("zygote.sock"));
      ctl = SocketChannel.open(address);
      writeLine(ctl, token + " ctl " + cgroup);
      out = SocketChannel.open(address);
      writeLine(out, token + " out -");
    } catch (IOException | RuntimeException e) {
      running.remove(token);
      closeQuietly(ctl);
      closeQuietly(out);
      cgroups.remove(cgroup);
      throw new SandboxException("the " + flavour.name().toLowerCase() + " template refused a fork: " + e, e);
    }
    if (closed) {
      exit.complete(-1); // died between the check and the registration: nobody else completes it
    }
    forks.incrementAndGet();
    return new Forked(token, ctl, out, exit, cgroup);
  }

  private static void writeLine(SocketChannel channel, String line) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
    while (bytes.hasRemaining()) {
      channel.write(bytes);
    }
  }

  /** Ends one child (its whole PID namespace). */
  private synchronized void kill(String token) {
    try {
      OutputStream commands = process.getOutputStream();
      commands.write(("kill " + token + "\n").getBytes(StandardCharsets.US_ASCII));
      commands.flush();
    } catch (IOException e) {
      // The template is gone, and its children with it.
    }
  }

  /** Serves no new execution; ends once the ones in flight have. */
  void retire() {
    retired = true;
    if (running.isEmpty()) {
      close();
    }
  }

  /** Whether it has ended and released its cgroups and directory. */
  synchronized boolean isReleased() {
    return released;
  }

  /** Ends the template and every child it still has, and removes its cgroups and directory. */
  @Override
  public synchronized void close() {
    if (released) {
      return;
    }
    closed = true;
    if (process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(EXIT_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          process.waitFor(EXIT_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    running.values().forEach(exit -> exit.complete(-1));
    running.clear();
    cgroups.removeAll();
    deleteTree(hostDir);
    released = true;
  }

  private static byte[] randomBytes() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  private static void closeQuietly(SocketChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        // Nothing to do.
      }
    }
  }

  private static void deleteTree(Path dir) {
    if (dir == null) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> {
        try {
          Files.deleteIfExists(path);
        } catch (IOException e) {
          // A mount point still busy: left for the temp directory's cleaner.
        }
      });
    } catch (IOException e) {
      // Gone already.
    }
  }

  /** A forked child, driven by {@link Jail} like any other jail process. */
  private final class Forked implements JailProcess {
    private final String token;
    private final SocketChannel ctl;
    private final SocketChannel out;
    private final CompletableFuture<Integer> exit;
    private final String cgroup;
    private boolean destroyed;

    Forked(String token, SocketChannel ctl, SocketChannel out, CompletableFuture<Integer> exit, String cgroup) {
      this.token = token;
      this.ctl = ctl;
      this.out = out;
      this.exit = exit;
      this.cgroup = cgroup;
    }

    @Override
    public OutputStream jobInput() {
      return UnixSocketStreams.output(ctl);
    }

    @Override
    public java.io.InputStream stdout() {
      return UnixSocketStreams.input(out);
    }

    @Override
    public java.io.InputStream channel() {
      return UnixSocketStreams.input(ctl);
    }

    @Override
    public boolean waitFor(Duration wait) {
      try {
        exit.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        return true;
      } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
        return exit.isDone();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    @Override
    public boolean isAlive() {
      return !exit.isDone();
    }

    @Override
    public int exitCode() {
      return exit.getNow(-1);
    }

    @Override
    public synchronized void destroy() {
      if (destroyed) {
        return;
      }
      destroyed = true;
      if (!exit.isDone()) {
        kill(token);
        if (!waitFor(EXIT_GRACE)) {
          // The zygote does not answer: nothing of it can be trusted any more.
          note("the zygote did not end execution " + token + " within " + EXIT_GRACE.toSeconds() + " s");
          close();
        }
      }
      closeQuietly(ctl);
      closeQuietly(out);
      if (exit.getNow(-1) >= 0) {
        cgroups.release(cgroup);
      } else {
        cgroups.remove(cgroup); // how it ended is unknown: make sure nothing of it lives on
      }
    }
  }
}
