package dev.pyexec.jailer;

import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * What the runner reads on fd 0 until EOF: one JSON header line (nonce, CPU seconds, caps, and
 * the byte length of every part), then the raw parts: script, stdin, each input file. Written
 * part by part, so the job is never copied into one more buffer.
 */
final class JobPayload {
  private final byte[] header;
  private final byte[] script;
  private final ScriptJob job;

  private JobPayload(byte[] header, byte[] script, ScriptJob job) {
    this.header = header;
    this.script = script;
    this.job = job;
  }

  static JobPayload of(String nonce, long cpuSeconds, int resultLimitBytes, ScriptJob job) {
    byte[] script = job.script().getBytes(StandardCharsets.UTF_8);
    StringWriter text = new StringWriter();
    try (JsonWriter json = new JsonWriter(text)) {
      json.beginObject();
      json.name("nonce").value(nonce);
      json.name("cpu_seconds").value(cpuSeconds);
      json.name("result_limit").value(resultLimitBytes);
      json.name("script").value(script.length);
      json.name("stdin").value(job.stdin().length);
      json.name("files").beginArray();
      for (InputFile file : job.files()) {
        json.beginObject().name("path").value(file.path()).name("size").value(file.content().length).endObject();
      }
      json.endArray();
      json.name("output_files").value(JobLimits.OUTPUT_FILES);
      json.name("output_bytes").value(JobLimits.OUTPUT_BYTES);
      json.endObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    text.write('\n');
    return new JobPayload(text.toString().getBytes(StandardCharsets.UTF_8), script, job);
  }

  long length() {
    long length = header.length + script.length + job.stdin().length;
    for (InputFile file : job.files()) {
      length += file.content().length;
    }
    return length;
  }

  void writeTo(OutputStream out) throws IOException {
    out.write(header);
    out.write(script);
    out.write(job.stdin());
    for (InputFile file : job.files()) {
      out.write(file.content());
    }
  }
}
