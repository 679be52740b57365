package dev.pyexec.function;

import java.util.Map;

/**
 * A request the service refuses before any script runs, with the status and words the caller
 * gets. Thrown inside the function and always turned into a JSON body.
 */
final class ApiError extends Exception {
  private final int status;
  private final String kind;
  private final Map<String, String> headers;

  ApiError(int status, String kind, String message) {
    this(status, kind, message, Map.of());
  }

  ApiError(int status, String kind, String message, Map<String, String> headers) {
    super(message, null, false, false);
    RefusalKind.of(status, kind); // only declared (and documented) kinds
    this.status = status;
    this.kind = kind;
    this.headers = Map.copyOf(headers);
  }

  int status() {
    return status;
  }

  String kind() {
    return kind;
  }

  Map<String, String> headers() {
    return headers;
  }

  static ApiError badRequest(String message) {
    return new ApiError(400, "invalid_request", message);
  }

  static ApiError tooLarge(String message) {
    return new ApiError(413, "too_large", message);
  }
}
