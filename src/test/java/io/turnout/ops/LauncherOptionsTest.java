package io.turnout.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
        Files.writeString(dir.resolve("target/quarkus-app/quarkus-run.jar"), "");
        Path java = dir.resolve("jdk/bin/java");
        Files.createDirectories(java.getParent());
        Path args = dir.resolve("args");
        Files.writeString(java, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" + args + "'\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
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
