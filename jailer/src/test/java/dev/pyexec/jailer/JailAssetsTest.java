package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class JailAssetsTest {
  @Test
  void theRunnerIsCompiledWithTheJailsPython() {
    try (JailAssets assets = JailAssets.extract(RealSandbox.settings().python())) {
      assertThat(assets.compileProblem()).isEmpty();
      assertThat(assets.runner().getFileName().toString()).isEqualTo("runner.pyc");
      assertThat(Files.isReadable(assets.runner())).isTrue();
    }
  }

  @Test
  void aPythonThatCannotCompileLeavesTheRunnerAsSourceAndSaysWhy() {
    try (JailAssets assets = JailAssets.extract(Path.of("/bin/false"))) {
      assertThat(assets.compileProblem()).isPresent();
      assertThat(assets.runner().getFileName().toString()).isEqualTo("runner.py");
    }
  }

  @Test
  void closingRemovesEverything() {
    JailAssets assets = JailAssets.extract(RealSandbox.settings().python());
    Path directory = assets.runner().getParent();
    assets.close();
    assertThat(Files.exists(directory)).isFalse();
  }
}
