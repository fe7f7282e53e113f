package dev.overlay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The public API is what the module descriptors export, and it changes only on purpose (issue
 * 11). This lists every public type and member of the exported packages and compares the list
 * with the committed one, {@code src/test/resources/api/overlay-api.txt}: an unintended change
 * fails the build. After an intended one, rewrite the file with
 * {@code mvn -pl overlay-transport -am test -Dtest=ApiSurfaceTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Doverlay.api.update=true} (with {@code -am}, so that the core's exported packages are this
 * checkout's) and
 * commit it with the change, so that the diff shows the API change to a reviewer.
 *
 * <p>It also checks that the API leaks no internals: every type named in an exported signature
 * is itself exported, or from the JDK, or one of the few third-party types the API takes on
 * purpose (a caller's Netty event loop group).
 */
class ApiSurfaceTest {

  private static final Path BASELINE = Paths.get("src/test/resources/api/overlay-api.txt");
  /**
   * Third-party types an exported signature may name: the builder can run a node on the caller's
   * loops, and dev.overlay.metrics is a Micrometer binder (optional, see OverlayMetrics).
   */
  private static final Set<String> ALLOWED_FOREIGN = Set.of("io.netty.channel.EventLoopGroup",
      "io.micrometer.core.instrument.MeterRegistry", "io.micrometer.core.instrument.binder.MeterBinder",
      "io.micrometer.core.instrument.Tag");

  @Test
  void theExportedPackagesAreTheDescriptorsUnqualifiedExports() throws IOException {
    assertThat(unqualifiedExports(Paths.get("src/main/java/module-info.java"))).containsExactlyInAnyOrder("dev.overlay", "dev.overlay.spi",
        "dev.overlay.metrics");
    assertThat(unqualifiedExports(Paths.get("../overlay-core/src/main/java/module-info.java")))
        .containsExactlyInAnyOrder("dev.overlay.config", "dev.overlay.core");
    // The tracker is an application: its classes speak the internal protocol and are no API.
    assertThat(unqualifiedExports(Paths.get("../overlay-tracker/src/main/java/module-info.java"))).isEmpty();
  }

  @Test
  void theApiIsTheCommittedOne() throws Exception {
    String now = String.join("\n", surface()) + "\n";
    if (Boolean.getBoolean("overlay.api.update")) {
      Files.createDirectories(BASELINE.getParent());
      Files.writeString(BASELINE, now, StandardCharsets.UTF_8);
    }
    String committed = Files.exists(BASELINE) ? Files.readString(BASELINE, StandardCharsets.UTF_8) : "";
    assertThat(now).as("the public API changed; if on purpose, rewrite %s with -Doverlay.api.update=true and commit it", BASELINE)
        .isEqualTo(committed);
  }

  @Test
  void exportedSignaturesNameNoInternalType() throws Exception {
    List<String> leaks = new ArrayList<>();
    for (Class<?> c : exportedTypes()) {
      for (Type t : signatureTypes(c)) {
        collectLeaks(c, t, leaks, new java.util.HashSet<>());
      }
      for (var a : c.getDeclaredAnnotations()) collectLeaks(c, a.annotationType(), leaks, new java.util.HashSet<>());
    }
    assertThat(leaks).as("internal types in the public API").isEmpty();
  }

  private static List<String> unqualifiedExports(Path descriptor) throws IOException {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("^\\s*exports\\s+([\\w.]+)\\s*;", Pattern.MULTILINE).matcher(Files.readString(descriptor));
    while (m.find()) out.add(m.group(1));
    return out;
  }

  static Set<String> exportedPackages() {
    return Set.of("dev.overlay", "dev.overlay.spi", "dev.overlay.metrics", "dev.overlay.config", "dev.overlay.core");
  }

  private static List<String> surface() throws Exception {
    List<String> lines = new ArrayList<>();
    for (Class<?> c : exportedTypes()) {
      lines.add(describe(c));
      if (c.isRecord()) {
        // In order: swapping two components of one type keeps every signature but breaks callers.
        StringBuilder rc = new StringBuilder("  components (");
        for (var k : c.getRecordComponents()) rc.append(k.getGenericType().getTypeName()).append(' ').append(k.getName()).append(", ");
        lines.add(rc.append(')').toString().replace(", )", ")"));
      }
      TreeSet<String> members = new TreeSet<>();
      for (Field f : c.getDeclaredFields()) {
        if (visible(f) && !f.isSynthetic()) members.add(annotations(f.getDeclaredAnnotations()) + "  field " + f.toGenericString() + constant(f));
      }
      for (Constructor<?> k : c.getDeclaredConstructors()) {
        if (visible(k) && !k.isSynthetic()) members.add(annotations(k.getDeclaredAnnotations()) + "  new " + k.toGenericString());
      }
      for (Method m : c.getDeclaredMethods()) {
        if (visible(m) && !m.isSynthetic() && !m.isBridge()) members.add(annotations(m.getDeclaredAnnotations()) + "  " + m.toGenericString());
      }
      lines.addAll(members);
    }
    return lines;
  }

  /** A constant's value is API too: callers compile it in. */
  private static String constant(Field f) {
    int m = f.getModifiers();
    if (!Modifier.isStatic(m) || !Modifier.isFinal(m) || !(f.getType().isPrimitive() || f.getType() == String.class)) return "";
    try {
      return " = " + f.get(null);
    } catch (IllegalAccessException e) {
      return "";
    }
  }

  private static String annotations(java.lang.annotation.Annotation[] as) {
    StringBuilder sb = new StringBuilder();
    for (var a : as) sb.append('@').append(a.annotationType().getName()).append(' ');
    return sb.toString();
  }

  private static String describe(Class<?> c) {
    // Static is implied for nested types that matter here; abstract is implied for interfaces.
    int mods = c.getModifiers() & ~Modifier.STATIC & ~Modifier.INTERFACE & (c.isInterface() ? ~Modifier.ABSTRACT : ~0);
    StringBuilder sb = new StringBuilder(annotations(c.getDeclaredAnnotations())).append(Modifier.toString(mods));
    if (c.isSealed()) sb.append(sb.length() > 0 ? " " : "").append("sealed");
    String kind = c.isAnnotation() ? "@interface" : c.isInterface() ? "interface" : c.isEnum() ? "enum" : c.isRecord() ? "record" : "class";
    sb.append(sb.length() > 0 ? " " : "").append(kind).append(' ').append(c.getName());
    var params = c.getTypeParameters();
    if (params.length > 0) {
      sb.append('<');
      for (int i = 0; i < params.length; i++) {
        sb.append(i == 0 ? "" : ", ").append(params[i].getName());
        Type[] bounds = params[i].getBounds();
        if (!(bounds.length == 1 && bounds[0] == Object.class)) {
          sb.append(" extends ");
          for (int j = 0; j < bounds.length; j++) sb.append(j == 0 ? "" : " & ").append(bounds[j].getTypeName());
        }
      }
      sb.append('>');
    }
    Type sup = c.getGenericSuperclass();
    if (sup != null && sup != Object.class && sup != Record.class && !c.isEnum()) sb.append(" extends ").append(sup.getTypeName());
    Type[] ifs = c.getGenericInterfaces();
    if (ifs.length > 0) {
      sb.append(c.isInterface() ? " extends " : " implements ");
      for (int i = 0; i < ifs.length; i++) sb.append(i == 0 ? "" : ", ").append(ifs[i].getTypeName());
    }
    if (c.isSealed()) {
      TreeSet<String> permitted = new TreeSet<>();
      for (Class<?> p : c.getPermittedSubclasses()) permitted.add(p.getName());
      sb.append(" permits ").append(String.join(", ", permitted));
    }
    return sb.toString();
  }

  private static boolean visible(Member m) {
    int mod = m.getModifiers();
    return Modifier.isPublic(mod) || (Modifier.isProtected(mod) && !Modifier.isFinal(m.getDeclaringClass().getModifiers()));
  }

  /** Public top-level and nested types of the exported packages, by name. */
  private static List<Class<?>> exportedTypes() throws Exception {
    TreeSet<String> names = new TreeSet<>();
    for (String pkg : exportedPackages()) names.addAll(classNames(pkg));
    List<Class<?>> out = new ArrayList<>();
    for (String n : names) {
      Class<?> c = Class.forName(n, false, ApiSurfaceTest.class.getClassLoader());
      if (isExported(c)) out.add(c);
    }
    return out;
  }

  private static boolean isExported(Class<?> c) {
    for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
      if (!Modifier.isPublic(k.getModifiers()) || k.isAnonymousClass() || k.isLocalClass() || k.isSynthetic()) return false;
    }
    return true;
  }

  /** The main classes of a package (test classes of the same package are left out). */
  private static List<String> classNames(String pkg) throws IOException {
    String dir = pkg.replace('.', '/');
    List<String> out = new ArrayList<>();
    Enumeration<URL> roots = ApiSurfaceTest.class.getClassLoader().getResources(dir);
    while (roots.hasMoreElements()) {
      URL u = roots.nextElement();
      if (u.getPath().contains("/test-classes/")) continue;
      if (u.getProtocol().equals("file")) {
        try (Stream<Path> files = Files.list(Paths.get(java.net.URI.create(u.toString())))) {
          files.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".class") && !f.equals("package-info.class"))
              .forEach(f -> out.add(pkg + "." + f.substring(0, f.length() - 6).replace('/', '.')));
        }
      } else if (u.getProtocol().equals("jar")) {
        JarFile jar = ((JarURLConnection) u.openConnection()).getJarFile();
        for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements();) {
          String n = e.nextElement().getName();
          if (n.startsWith(dir + "/") && n.endsWith(".class") && n.indexOf('/', dir.length() + 1) < 0 && !n.endsWith("package-info.class")) {
            out.add(n.substring(0, n.length() - 6).replace('/', '.'));
          }
        }
      }
    }
    return out;
  }

  private static List<Type> signatureTypes(Class<?> c) {
    List<Type> out = new ArrayList<>();
    if (c.getGenericSuperclass() != null) out.add(c.getGenericSuperclass());
    out.addAll(List.of(c.getTypeParameters()));
    out.addAll(List.of(c.getGenericInterfaces()));
    for (Field f : c.getDeclaredFields()) {
      if (visible(f) && !f.isSynthetic()) out.add(f.getGenericType());
    }
    for (Constructor<?> k : c.getDeclaredConstructors()) {
      if (visible(k) && !k.isSynthetic()) {
        out.addAll(List.of(k.getGenericParameterTypes()));
        out.addAll(List.of(k.getGenericExceptionTypes()));
      }
    }
    for (Method m : c.getDeclaredMethods()) {
      if (!visible(m) || m.isSynthetic() || m.isBridge()) continue;
      out.add(m.getGenericReturnType());
      out.addAll(List.of(m.getTypeParameters()));
      out.addAll(List.of(m.getGenericParameterTypes()));
      out.addAll(List.of(m.getGenericExceptionTypes()));
    }
    return out;
  }

  private static void collectLeaks(Class<?> where, Type t, List<String> leaks, Set<Type> seen) {
    if (!seen.add(t)) return; // T extends Comparable<T> names itself
    if (t instanceof Class<?> k) {
      while (k.isArray()) k = k.getComponentType();
      if (k.isPrimitive()) return;
      String pkg = k.getPackageName();
      if (pkg.startsWith("java.") || exportedPackages().contains(pkg) && isExported(k) || ALLOWED_FOREIGN.contains(k.getName())) return;
      leaks.add(where.getName() + " names " + k.getName());
    } else if (t instanceof ParameterizedType p) {
      collectLeaks(where, p.getRawType(), leaks, seen);
      for (Type a : p.getActualTypeArguments()) collectLeaks(where, a, leaks, seen);
    } else if (t instanceof WildcardType w) {
      for (Type b : w.getUpperBounds()) collectLeaks(where, b, leaks, seen);
      for (Type b : w.getLowerBounds()) collectLeaks(where, b, leaks, seen);
    } else if (t instanceof GenericArrayType g) {
      collectLeaks(where, g.getGenericComponentType(), leaks, seen);
    } else if (t instanceof java.lang.reflect.TypeVariable<?> v) {
      for (Type b : v.getBounds()) collectLeaks(where, b, leaks, seen);
    }
  }
}
