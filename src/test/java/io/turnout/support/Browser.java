package io.turnout.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.logging.Level;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A headless Chromium from Debian's {@code chromium} package, driven through its
 * {@code chromedriver} ({@code chromium-driver}): nothing is downloaded at test time, and a missing
 * package fails the test at once naming it.
 */
public final class Browser implements AutoCloseable {
    /** Where screenshots are kept as test artefacts. */
    public static final Path ARTEFACTS = Path.of("target/console");

    private final ChromeDriver driver;

    public Browser() {
        Path chromium = Tools.require("chromium", "chromium");
        Path chromedriver = Tools.require("chromedriver", "chromium-driver");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile())
                .usingAnyFreePort().withTimeout(Duration.ofSeconds(30)).build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,1000",
                "--no-first-run", "--disable-extensions", "--lang=en-GB");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30)).scriptTimeout(Duration.ofSeconds(10));
    }

    public ChromeDriver driver() {
        return driver;
    }

    public void open(String url) {
        driver.get(url);
    }

    /** Waits, at most {@code seconds}, for the condition to hold (not null, not false). */
    public <T> T await(long seconds, String what, Function<WebDriver, T> condition) {
        try {
            // a page being navigated away from leaves stale elements: the next poll finds the new ones
            return new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(50))
                    .ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(condition);
        } catch (org.openqa.selenium.TimeoutException e) {
            // what the page showed and logged, to see why
            screenshot("failed");
            throw new AssertionError("Waited " + seconds + " s for " + what + "; the page shows:\n"
                    + driver.findElement(By.tagName("body")).getText() + "\nand logged: " + errors(), e);
        }
    }

    public WebElement find(String css) {
        return driver.findElement(By.cssSelector(css));
    }

    /**
     * Clicks the element, found again if the page replaced it between finding and clicking (a
     * polled page renders its content anew every few seconds).
     */
    public void click(String css) {
        await(10, "to click " + css, d -> {
            find(css).click();
            return true;
        });
    }

    /** The element's text, read again if the page replaced it meanwhile. */
    public String text(String css) {
        return await(10, "the text of " + css, d -> find(css).getText());
    }

    public List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    /** The element's text once it is shown, waiting at most 10 s for it. */
    public WebElement shown(String css) {
        return await(10, css + " shown", d -> {
            List<WebElement> found = d.findElements(By.cssSelector(css));
            return found.isEmpty() || !found.get(0).isDisplayed() ? null : found.get(0);
        });
    }

    public Object script(String js, Object... args) {
        return driver.executeScript(js, args);
    }

    public void screenshot(String name) {
        try {
            Files.createDirectories(ARTEFACTS);
            Files.write(ARTEFACTS.resolve(name + ".png"), driver.getScreenshotAs(OutputType.BYTES));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every error the page logged (script errors, failed requests, CSP violations) since the last call. */
    public List<String> errors() {
        return driver.manage().logs().get(LogType.BROWSER).getAll().stream().filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue())
                .map(LogEntry::getMessage).toList();
    }

    public void assertNoErrors() {
        assertThat(errors()).as("errors in the browser's console").isEmpty();
    }

    /** What the page's scripts see as its state: survives polling, lost on a reload. */
    public void mark() {
        script("window.turnoutTestMark = 1;");
    }

    public boolean marked() {
        return Boolean.TRUE.equals(script("return window.turnoutTestMark === 1;"));
    }

    @Override
    public void close() {
        driver.quit();
    }
}
