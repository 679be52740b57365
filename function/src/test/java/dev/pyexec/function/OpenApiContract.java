package dev.pyexec.function;

import static com.google.common.truth.Truth.assertWithMessage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.oas.OpenApi31;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

/**
 * The served OpenAPI document as a contract: validates bodies against the schema it gives for a
 * path, method and status, with networknt's validator in the OpenAPI 3.1 dialect.
 */
final class OpenApiContract {
  private static final String ID = "https://pyexec.invalid/openapi.json";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  final String text;
  final JsonNode document;
  private final JsonSchemaFactory factory;

  OpenApiContract(byte[] served) {
    this.text = new String(served, StandardCharsets.UTF_8);
    try {
      this.document = MAPPER.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012, builder -> builder
        .metaSchema(OpenApi31.getInstance())
        .defaultMetaSchemaIri(OpenApi31.getInstance().getIri())
        .schemaLoaders(loaders -> loaders.schemas(Map.of(ID, text))));
  }

  /** The schema at a JSON pointer into the document, e.g. /components/schemas/Success. */
  JsonSchema schema(String pointer) {
    return factory.getSchema(SchemaLocation.of(ID + "#" + pointer));
  }

  /** The pointer of the JSON schema the document gives for this response, following a $ref. */
  String responsePointer(String path, String method, int status) {
    String at = "/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method + "/responses/" + status;
    JsonNode response = document.at(at);
    assertWithMessage("the document has no %s response for %s %s", status, method, path)
        .that(response.isMissingNode()).isFalse();
    if (response.has("$ref")) {
      at = response.get("$ref").asText().substring(1);
    }
    return at + "/content/application~1json/schema";
  }

  void assertResponseMatches(String path, String method, int status, String body) {
    Set<ValidationMessage> problems = schema(responsePointer(path, method, status)).validate(parse(body));
    assertWithMessage("%s %s -> %s body %s does not match the document: %s", method, path, status,
        body.length() > 500 ? body.substring(0, 500) + "..." : body, problems).that(problems).isEmpty();
  }

  static JsonNode parse(String json) {
    try {
      return MAPPER.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
