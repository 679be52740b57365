package dev.pyexec.jailer;

/**
 * Which engine runs executions (SPEC section 2): {@code TEMPLATE} forks each from a template
 * where the platform allows it, {@code ONESHOT} starts a fresh nsjail for each.
 */
public record EngineSettings(Engine engine, TemplateSettings template) {
  public enum Engine { TEMPLATE, ONESHOT }

  public static EngineSettings defaults() {
    return new EngineSettings(Engine.TEMPLATE, TemplateSettings.defaults());
  }

  public static EngineSettings oneshot() {
    return new EngineSettings(Engine.ONESHOT, TemplateSettings.defaults());
  }
}
