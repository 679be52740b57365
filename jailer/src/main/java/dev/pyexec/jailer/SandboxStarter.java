package dev.pyexec.jailer;

import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Brings the sandbox up: checks nsjail is there, detects cgroups, self-tests the profiles strongest
 * first and takes the first that proves its isolation. With none, the instance fails closed.
 */
public final class SandboxStarter {
  private final SandboxSettings settings;
  private final Consumer<String> log;
  private final UidAllocator uids;

  /** @param log one line per finding, for the operator */
  public SandboxStarter(SandboxSettings settings, Consumer<String> log) {
    this(settings, log, UidAllocator.standard());
  }

  /** @param uids the host uids jails run as (tests use a range of their own to count leftovers) */
  public SandboxStarter(SandboxSettings settings, Consumer<String> log, UidAllocator uids) {
    this.settings = settings;
    this.log = log;
    this.uids = uids;
  }

  public Sandbox start(PoolSettings pool) {
    if (!Files.isExecutable(settings.nsjail())) {
      String reason = "nsjail is not an executable file at " + settings.nsjail();
      log.accept(reason);
      return new UnavailableSandbox(reason);
    }
    if (!Files.isExecutable(settings.python())) {
      String reason = "python is not an executable file at " + settings.python();
      log.accept(reason);
      return new UnavailableSandbox(reason);
    }
    JailAssets assets = JailAssets.extract(settings.python());
    assets.compileProblem().ifPresent(problem ->
        log.accept(problem + "; jails run the runner from source, about 3 ms slower each"));
    ExecutorService io = Executors.newCachedThreadPool(daemonThreads());
    PlatformReport platform = PlatformReport.read();
    log.accept(platform.logLine());
    Cgroups cgroups = Cgroups.detect();
    log.accept(cgroups.detail());
    NsjailLauncher launcher = new NsjailLauncher(settings, assets, uids, io, cgroups);
    SelfTest.Report report = new SelfTest(settings, launcher).choose(SandboxProfile.candidates(cgroups.mode()));
    report.findings().forEach(finding -> log.accept("sandbox self-test: " + finding));
    if (report.chosen().isEmpty()) {
      io.shutdownNow();
      assets.close();
      // /health shows this; the findings above stay in the log (they name internal paths).
      return new UnavailableSandbox(platform.explain(report.findings())
          .orElse("no sandbox profile passed the self-test") + " (the log has each profile's finding)");
    }
    SandboxProfile profile = report.chosen().get();
    JailProvider jails = pool.enabled()
        ? new WarmPool(launcher, profile, pool, io)
        : new ColdJails(launcher, profile);
    log.accept("sandbox profile " + profile.name() + " active; warm pool "
        + (pool.enabled() ? "on " + pool : "off"));
    return new NsjailSandbox(settings, profile, jails, List.of(launcher::closeAll, io::shutdownNow, assets));
  }

  private static java.util.concurrent.ThreadFactory daemonThreads() {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, "jail-io-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
