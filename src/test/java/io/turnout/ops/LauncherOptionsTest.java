package io.turnout.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The options bin/turnout hands Java: a copy of the launcher beside an application directory runs
 * a stand-in {@code java} (JAVA_HOME) that writes down the arguments it was given.
 */
class LauncherOptionsTest {
    @TempDir
    Path dir;

    private List<String> javaArguments(Map<String, String> env) throws Exception {
        Files.createDirectories(dir.resolve("bin"));
        Files.copy(Path.of("bin/turnout"), dir.resolve("bin/turnout"), StandardCopyOption.REPLACE_EXISTING);
        Files.createDirectories(dir.resolve("target/quarkus-app"));
        Path jar = dir.resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(jar)) Files.writeString(jar, "");
        Path args = standInJava(dir.resolve("jdk"));
        ProcessBuilder pb = new ProcessBuilder("sh", dir.resolve("bin/turnout").toString()).redirectErrorStream(true);
        pb.environment().remove("JAVA_OPTS");
        pb.environment().put("JAVA_HOME", dir.resolve("jdk").toString());
        pb.environment().put("TURNOUT_CDS", "off");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("the launcher ended").isTrue();
        assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        return Files.readAllLines(args);
    }

    /** A stand-in JDK at {@code home} (kept once written) whose java writes the arguments it was given into {@code dir/args}. */
    private Path standInJava(Path home) throws Exception {
        Path java = home.resolve("bin/java");
        Path args = dir.resolve("args");
        if (Files.exists(java)) return args;
        Files.createDirectories(java.getParent());
        Files.writeString(java, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" + args + "'\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
        return args;
    }

    /** The archive a start through the launcher records, by name (no archive is in place: the stand-in writes none). */
    private String recordedArchive(Map<String, String> env) throws Exception {
        Map<String, String> cds = new HashMap<>(env);
        cds.put("TURNOUT_CDS", "on");
        cds.put("TURNOUT_CDS_DIR", dir.resolve("cds").toString());
        List<String> args = javaArguments(cds);
        String recording = args.stream().filter(a -> a.startsWith("-XX:ArchiveClassesAtExit=")).findFirst().orElseThrow();
        assertThat(recording).matches("-XX:ArchiveClassesAtExit=" + Pattern.quote(dir.resolve("cds").toString())
                + "/turnout-[0-9]+\\.jsa\\.[0-9]+\\.part");
        return recording.substring(recording.lastIndexOf('/') + 1, recording.indexOf(".jsa") + 4);
    }

    /**
     * An archive is named by the build and the Java that recorded it, so a start of another build or
     * on another Java (whose archive the JVM would refuse) records one of its own, and a start of the
     * same build on the same Java maps the one recorded.
     */
    @Test
    void theArchiveIsNamedByTheBuildAndTheJava() throws Exception {
        Path jdk = dir.resolve("jdk");
        Files.createDirectories(jdk.resolve("lib/server"));
        Files.writeString(jdk.resolve("lib/modules"), "modules");
        Files.writeString(jdk.resolve("lib/server/libjvm.so"), "vm");
        String first = recordedArchive(Map.of());
        assertThat(recordedArchive(Map.of())).as("the same build on the same Java").isEqualTo(first);

        Path jar = dir.resolve("target/quarkus-app/quarkus-run.jar");
        Files.writeString(jar, "rebuilt");
        String rebuilt = recordedArchive(Map.of());
        assertThat(rebuilt).as("a file of the build written again").isNotEqualTo(first);
        Files.createDirectories(dir.resolve("target/quarkus-app/lib/main"));
        Files.writeString(dir.resolve("target/quarkus-app/lib/main/added.jar"), "");
        String added = recordedArchive(Map.of());
        assertThat(added).as("a file added to the build").isNotEqualTo(rebuilt);

        Files.writeString(jdk.resolve("lib/modules"), "modules of another update");
        String updated = recordedArchive(Map.of());
        assertThat(updated).as("the JDK's module image replaced").isNotEqualTo(added);
        Files.setLastModifiedTime(jdk.resolve("lib/server/libjvm.so"), FileTime.fromMillis(1_000_000_000_000L));
        String vm = recordedArchive(Map.of());
        assertThat(vm).as("the JDK's VM replaced").isNotEqualTo(updated);

        standInJava(dir.resolve("other-jdk"));
        assertThat(recordedArchive(Map.of("JAVA_HOME", dir.resolve("other-jdk").toString()))).as("another JDK").isNotEqualTo(vm);
        assertThat(recordedArchive(Map.of())).as("the first JDK again").isEqualTo(vm);
    }

    @Test
    void theLauncherNamesTheSerialCollectorAndTheJitThresholdsBeforeJavaOpts() throws Exception {
        List<String> args = javaArguments(Map.of("JAVA_OPTS", "-Xmx300m"));
        assertThat(args).contains("-XX:+UseSerialGC", "-XX:MetaspaceSize=128m", "-XX:Tier4InvocationThreshold=15000");
        assertThat(args.indexOf("-Xmx300m")).as("JAVA_OPTS after the launcher's own").isGreaterThan(args.indexOf("-XX:+UseSerialGC"));
        assertThat(args.subList(args.size() - 2, args.size())).containsExactly("-jar", dir.resolve("target/quarkus-app/quarkus-run.jar").toString());
    }

    /** The JVM refuses to start with two collectors: one named in JAVA_OPTS replaces the launcher's. */
    @Test
    void aCollectorNamedInJavaOptsReplacesTheSerialOne() throws Exception {
        for (String named : List.of("-XX:+UseG1GC", "-XX:+UseParallelGC", "-XX:+UseZGC")) {
            List<String> args = javaArguments(Map.of("JAVA_OPTS", "-Xmx1g " + named + " -Xlog:gc"));
            assertThat(args).as(named).contains(named, "-XX:MetaspaceSize=128m").doesNotContain("-XX:+UseSerialGC");
        }
    }
}
