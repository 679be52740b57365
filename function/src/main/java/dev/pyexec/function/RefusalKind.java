package dev.pyexec.function;

/**
 * Every error kind the server answers with before, or instead of, running a script, with its
 * status. {@link ApiError} accepts only these pairs, so the list is complete by construction;
 * the OpenAPI test checks each is documented under its status (the execution outcomes' kinds
 * come from {@link OutcomeResponse#kindName}).
 */
enum RefusalKind {
  INVALID_REQUEST(400, "invalid_request"),
  NOT_FOUND(404, "not_found"),
  METHOD_NOT_ALLOWED(405, "method_not_allowed"),
  TOO_LARGE(413, "too_large"),
  UNSUPPORTED_MEDIA_TYPE(415, "unsupported_media_type"),
  INTERNAL_ERROR(500, "internal_error"),
  OVERLOADED(503, "overloaded");

  final int status;
  final String kind;

  RefusalKind(int status, String kind) {
    this.status = status;
    this.kind = kind;
  }

  static RefusalKind of(int status, String kind) {
    for (RefusalKind value : values()) {
      if (value.status == status && value.kind.equals(kind)) {
        return value;
      }
    }
    throw new IllegalArgumentException("undeclared error kind " + kind + " with status " + status
        + "; add it to RefusalKind and to openapi.json");
  }
}
