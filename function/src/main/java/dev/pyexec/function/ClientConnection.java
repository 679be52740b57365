package dev.pyexec.function;

import com.google.cloud.functions.HttpRequest;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * The TCP connection a request arrived on, as the kernel names it. The Functions Framework API
 * does not expose it; the invoker's request wraps a Jetty request that does, so it is read
 * reflectively (the function's class loader does not see Jetty's types). Empty when the shape
 * is not the expected one: the request is then simply not watched.
 */
record ClientConnection(InetSocketAddress local, InetSocketAddress remote, Object endPoint) {

  static Optional<ClientConnection> of(HttpRequest request) {
    try {
      Field field = request.getClass().getDeclaredField("request");
      field.setAccessible(true);
      Object jetty = field.get(request);
      Object meta = call(jetty, "getConnectionMetaData");
      Object local = call(meta, "getLocalSocketAddress");
      Object remote = call(meta, "getRemoteSocketAddress");
      Object endPoint = call(call(meta, "getConnection"), "getEndPoint");
      if (local instanceof InetSocketAddress l && remote instanceof InetSocketAddress r
          && l.getAddress() != null && r.getAddress() != null) {
        return Optional.of(new ClientConnection(l, r, endPoint));
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      // Not the invoker's request (a test double) or another invoker version: not watched.
    }
    return Optional.empty();
  }

  /**
   * Closes the connection under the request: a read blocked on it fails at once. For a client
   * too slow to be worth waiting for; best effort.
   */
  void abort() {
    try {
      call(endPoint, "close");
    } catch (ReflectiveOperationException | RuntimeException e) {
      // Already closed, or not closable this way: Jetty's idle timeout still applies.
    }
  }

  /** Calls a public no-argument method through a public type that declares it. */
  private static Object call(Object target, String name) throws ReflectiveOperationException {
    for (Class<?> type = target.getClass(); type != null; type = type.getSuperclass()) {
      for (Class<?> candidate : withInterfaces(type)) {
        if (java.lang.reflect.Modifier.isPublic(candidate.getModifiers())) {
          try {
            Method method = candidate.getMethod(name);
            return method.invoke(target);
          } catch (NoSuchMethodException e) {
            // try the next type
          }
        }
      }
    }
    throw new NoSuchMethodException(name);
  }

  private static java.util.List<Class<?>> withInterfaces(Class<?> type) {
    java.util.List<Class<?>> all = new java.util.ArrayList<>(java.util.List.of(type.getInterfaces()));
    all.add(0, type);
    return all;
  }
}
