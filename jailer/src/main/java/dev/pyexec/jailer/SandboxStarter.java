package dev.pyexec.jailer;

import dev.pyexec.jailer.oneshot.ColdJails;
import dev.pyexec.jailer.oneshot.NsjailLauncher;
import dev.pyexec.jailer.template.TemplateCgroups;
import dev.pyexec.jailer.template.TemplateJails;
import dev.pyexec.jailer.template.Template;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Brings the sandbox up: checks nsjail is there, detects cgroups, self-tests the profiles strongest
 * first and takes the first that proves its isolation, then starts the engine. With no profile,
 * the instance fails closed; where the template engine cannot prove itself, one-shot jails run.
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

  public Sandbox start(EngineSettings engine) {
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
    SelfTest selfTest = new SelfTest(settings, launcher);
    SelfTest.Report report = selfTest.choose(SandboxProfile.candidates(cgroups.mode()));
    report.findings().forEach(finding -> log.accept("sandbox self-test: " + finding));
    if (report.chosen().isEmpty()) {
      io.shutdownNow();
      assets.close();
      // /health shows this; the findings above stay in the log (they name internal paths).
      return new UnavailableSandbox(platform.explain(report.findings())
          .orElse("no sandbox profile passed the self-test") + " (the log has each profile's finding)");
    }
    SandboxProfile profile = report.chosen().get();
    ColdJails oneShot = new ColdJails(launcher, profile);
    JailProvider jails = engine.engine() == EngineSettings.Engine.TEMPLATE
        ? templatesOrNull(profile, cgroups, engine.template(), new NsjailCommand(settings, assets, cgroups), oneShot,
            selfTest, io)
        : null;
    if (jails == null) {
      jails = oneShot;
    }
    log.accept("sandbox profile " + profile.name() + " active; engine " + (jails == oneShot ? "oneshot"
        : "template once its self-test passes (one-shot jails serve until then)"));
    return new NsjailSandbox(settings, profile, jails, List.of(launcher::closeAll, io::shutdownNow, assets));
  }

  /**
   * The template engine, or null to run one-shot jails. Its templates start and prove their
   * children's isolation in the background, so the instance serves (with one-shot jails) as
   * soon as its profile has passed; the templates take over once their self-test has passed.
   */
  private TemplateJails templatesOrNull(SandboxProfile profile, Cgroups cgroups, TemplateSettings limits,
      NsjailCommand command, ColdJails oneShot, SelfTest selfTest, ExecutorService io) {
    if (!profile.userNamespace() || !profile.procfs()) {
      log.accept("template engine: profile " + profile.name()
          + " has no user namespace or no /proc, which a template's children need; running one-shot jails");
      return null;
    }
    TemplateCgroups.sweepOrphans(cgroups.parents());
    TemplateJails templates = new TemplateJails(
        flavour -> Template.start(flavour, profile, cgroups, settings, command, uids.next(), io, TemplateJails.START_WAIT),
        oneShot, limits, settings, io, log);
    io.execute(() -> {
      String problem = templates.startAll() ? selfTest.checkTemplates(profile, templates.unproven())
          : "a template did not start";
      if (problem == null) {
        templates.prove();
        log.accept("template engine: self-test passed; executions fork from templates");
      } else {
        templates.close();
        log.accept("template engine failed its self-test (" + problem + "); running one-shot jails");
      }
    });
    return templates;
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
