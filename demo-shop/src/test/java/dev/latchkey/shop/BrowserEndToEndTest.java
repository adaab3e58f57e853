package dev.latchkey.shop;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A buyer in headless Chromium walks catalog, item, basket and checkout, then runs the arena from a
 * preset and reads its verdict, four charts and the timeline of a round. A screenshot of each page is
 * kept in target/screenshots. Needs Debian's chromium and chromium-driver (.ci/run installs them); without them the
 * test is skipped with the reason, except under CI=true, where it fails.
 */
class BrowserEndToEndTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @Test
    void aBuyerBuysThroughThePagesAndRunsTheArena() throws Exception {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!present) {
            String reason = "headless Chromium is not installed (apt-get install chromium chromium-driver)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError(reason + " and CI=true requires it");
            }
            Assumptions.abort(reason);
        }
        ShopApp.Config config = new ShopApp.Config("127.0.0.1", 0, "jdbc:h2:mem:e2e-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "sa", "",
                List.of(), "shop-e2e", Duration.ofHours(1), Duration.ofSeconds(2));
        Path profile = Files.createTempDirectory("chromium-profile");
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--window-size=1280,1000");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        try (ShopApp app = new ShopApp(config)) {
            WebDriver browser = new ChromeDriver(service, options);
            try {
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
                wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class); // a poll that meets a re-render polls again
                browser.get(app.url() + "/");
                present(wait, "catalog");
                shoot(browser, "1-catalog");
                browser.findElement(By.linkText("Brass latch key")).click();
                assertThat(present(wait, "stock").getText()).contains("In stock: 1");
                shoot(browser, "2-item");
                present(wait, "add").click();
                assertThat(present(wait, "basket").getText()).as("basket lines name the item and its price")
                        .contains("Brass latch key", "€19.99");
                assertThat(present(wait, "total").getText()).contains("€19.99");
                shoot(browser, "3-basket");
                new Select(present(wait, "strategy")).selectByValue("pessimistic-nowait");
                present(wait, "checkout").click();
                assertThat(present(wait, "outcome").getText()).contains("the item is yours");
                shoot(browser, "4-checkout");

                browser.get(app.url() + "/arena");
                present(wait, "arena-form");
                assertThat(present(wait, "strategies").getText()).contains("what it locks", "FOR UPDATE NOWAIT");
                present(wait, "preset-8-50").click(); // N = 8 buyers, P = 50 ms, every strategy
                // The live page re-renders the charts and the table while the arena runs, so no element
                // found before the end is kept: wait for the final state, then read it afresh by script.
                wait.until(d -> d.findElement(By.id("status")).getText().startsWith("done"));
                String verdict = wait.until(d -> (String) ((JavascriptExecutor) d).executeScript(
                        "var v = document.getElementById('verdict'); return v ? v.innerText : null"));
                assertThat(verdict).contains("Correctness: every strategy sold exactly the stock", "At 50 ms payment",
                        "answered the buyers who did not get the item fastest");
                for (String chart : List.of("outcomes", "wasted", "throughput", "latency", "timeline")) {
                    Long width = wait.until(d -> (Long) ((JavascriptExecutor) d).executeScript(
                            "var c = document.getElementById(arguments[0]);"
                                    + " return c && c.complete && c.naturalWidth > 0 ? c.naturalWidth : null", chart));
                    assertThat(width).as(chart + " rendered").isGreaterThan(100);
                }
                String table = (String) ((JavascriptExecutor) browser).executeScript("return document.getElementById('arena-table').innerText");
                assertThat(table).contains("coordinator-lock", "optimistic", "p50 (ms)", "wasted payments");
                new Select(browser.findElement(By.id("timeline-round"))).selectByIndex(1);
                wait.until(d -> (Boolean) ((JavascriptExecutor) d).executeScript(
                        "var t = document.getElementById('timeline'); return t.src.indexOf('round=1') > 0 && t.complete && t.naturalWidth > 0"));
                shoot(browser, "5-arena");
            } finally {
                browser.quit();
            }
        }
    }

    /** Keeps a screenshot of the page as a build artifact: target/screenshots/NAME.png (the whole page's height). */
    private static void shoot(WebDriver browser, String name) throws java.io.IOException {
        Long height = (Long) ((JavascriptExecutor) browser).executeScript("return document.documentElement.scrollHeight");
        browser.manage().window().setSize(new org.openqa.selenium.Dimension(1280, (int) Math.min(6000, Math.max(800, height + 40))));
        Path shot = Path.of("target", "screenshots", name + ".png");
        Files.createDirectories(shot.getParent());
        Files.write(shot, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        browser.manage().window().setSize(new org.openqa.selenium.Dimension(1280, 1000));
    }

    /** Waits for the element of a page that a click may still be loading. */
    private static WebElement present(WebDriverWait wait, String id) {
        return wait.until(d -> d.findElements(By.id(id)).stream().findFirst().orElse(null));
    }

    private static void setValue(WebDriver browser, String id, String value) {
        WebElement input = browser.findElement(By.id(id));
        input.clear();
        input.sendKeys(value);
    }
}
