package dev.pyexec.jailer;

import static com.google.common.truth.Truth.assertThat;

import org.junit.jupiter.api.Test;

class FlavourTest {
  @Test
  void scriptsImportingPandasOrNumpyGetTheDataFlavour() {
    assertThat(Flavour.forScript("import pandas as pd\ndef main(): pass")).isEqualTo(Flavour.DATA);
    assertThat(Flavour.forScript("from numpy import array\ndef main(): pass")).isEqualTo(Flavour.DATA);
    assertThat(Flavour.forScript("def main():\n    import numpy as np\n    return 1")).isEqualTo(Flavour.DATA);
  }

  @Test
  void otherScriptsGetThePlainFlavour() {
    assertThat(Flavour.forScript("import json\ndef main(): pass")).isEqualTo(Flavour.PLAIN);
    assertThat(Flavour.forScript("import numpyish\ndef main(): pass")).isEqualTo(Flavour.PLAIN);
    assertThat(Flavour.forScript("x = 'import pandas'\ndef main(): pass")).isEqualTo(Flavour.PLAIN);
  }
}
