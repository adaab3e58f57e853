package dev.latchkey.shop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArenaTest {

    @DatabaseTest
    void everyStrategyUnder64BuyersForStockOneSellsExactlyOnce(TestDatabase db) throws Exception {
        Arena arena = new Arena(new Shop(db.dataSource(), Duration.ofSeconds(5)));
        for (Strategy strategy : List.of(Strategy.OPTIMISTIC, Strategy.PESSIMISTIC_WAIT, Strategy.PESSIMISTIC_NOWAIT,
                Strategy.CONDITIONAL_UPDATE)) {
            assertSoldExactlyOnceTo64Buyers(arena.run(new Arena.Round(strategy, 64, 1, Duration.ofMillis(2)), 1));
        }
    }

    private static void assertSoldExactlyOnceTo64Buyers(Arena.Result r) {
        String label = r.round().label();
        assertThat(r.purchased()).as(label + " purchases").isEqualTo(1);
        assertThat(r.ordersInDatabase()).as(label + " orders").isEqualTo(1);
        assertThat(r.oversold()).as(label + " oversold").isZero();
        assertThat(r.stockLeft()).as(label + " stock").isZero();
        assertThat(r.errors()).as(label + " errors").isZero();
        assertThat(r.purchased() + r.soldOut() + r.busy()).as(label + " answers").isEqualTo(64);
    }

    @DatabaseTest
    void theJpaCheckoutUnder64BuyersForStockOneSellsExactlyOnceUnderEveryStrategy(TestDatabase db) throws Exception {
        try (Main.EmbeddedCoordinator coordinator = new Main.EmbeddedCoordinator(db.jdbcUrl(), db.user(), db.password())) {
            Shop shop = new Shop(db.dataSource(), Duration.ofSeconds(5), coordinator.session);
            try (JpaCheckout jpa = new JpaCheckout(shop, Duration.ofSeconds(5))) {
                Arena arena = new Arena(shop, jpa);
                for (Strategy strategy : Strategy.values()) {
                    Arena.Result r = arena.run(new Arena.Round(strategy, 64, 1, Duration.ofMillis(2), Arena.Impl.JPA), 1);
                    assertThat(r.round().label()).endsWith("(jpa)");
                    assertSoldExactlyOnceTo64Buyers(r);
                }
            }
        }
    }

    @DatabaseTest
    void withMoreStockEveryUnitSellsOnceAndNoMore(TestDatabase db) throws Exception {
        Arena arena = new Arena(new Shop(db.dataSource(), Duration.ofSeconds(5)));
        Arena.Result r = arena.run(new Arena.Round(Strategy.OPTIMISTIC, 32, 10, Duration.ZERO), 1);
        assertThat(r.purchased()).isEqualTo(10);
        assertThat(r.soldOut()).isEqualTo(22);
        assertThat(r.retries()).isGreaterThanOrEqualTo(0);
    }

    @Test
    void theCommandLineRunsTheArenaOnEmbeddedH2AndPrintsATable() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"arena", "--buyers", "16", "--payment-ms", "0", "--db-url", "jdbc:h2:mem:cli-test;DB_CLOSE_DELAY=-1"},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("strategy", "optimistic", "pessimistic-wait", "pessimistic-nowait", "conditional-update");
    }

    @Test
    void theCommandLineRacesTheJdbcAndJpaCheckoutsSideBySide() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"arena", "--buyers", "16", "--payment-ms", "0", "--impl", "jdbc,jpa", "--strategy",
                        "optimistic,pessimistic-nowait", "--db-url", "jdbc:h2:mem:cli-jpa-test;DB_CLOSE_DELAY=-1"},
                new PrintWriter(out, true), new PrintWriter(err, true));
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("optimistic ", "optimistic (jpa)", "pessimistic-nowait ", "pessimistic-nowait (jpa)");
        err.getBuffer().setLength(0);
        assertThat(Main.run(new String[] {"arena", "--impl", "cobol"}, new PrintWriter(new StringWriter()), new PrintWriter(err, true)))
                .isNotZero();
        assertThat(err.toString()).contains("unknown implementation 'cobol'");
    }

    @Test
    void helpSaysWhatTheShopDoesToday() {
        StringWriter out = new StringWriter();
        assertThat(Main.run(new String[] {"--help"}, new PrintWriter(out, true), new PrintWriter(new StringWriter()))).isZero();
        assertThat(out.toString().replaceAll("\\s+", " ")).contains("serves the shop on", "8080", "the arena page", "verdict",
                "arena", "serve");
    }

    @Test
    void badArgumentsGetAClearMessageAndANonZeroExit() {
        StringWriter err = new StringWriter();
        int code = Main.run(new String[] {"arena", "--strategy", "telepathy"}, new PrintWriter(new StringWriter()),
                new PrintWriter(err, true));
        assertThat(code).isNotZero();
        assertThat(err.toString()).contains("unknown strategy 'telepathy'");
        err.getBuffer().setLength(0);
        assertThat(Main.run(new String[] {"arena", "--buyers", "0"}, new PrintWriter(new StringWriter()), new PrintWriter(err, true)))
                .isNotZero();
        assertThat(err.toString()).contains("buyers must be between 1 and 10000");
    }

    @Test
    void percentilesUseTheNearestRank() {
        double[] values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertThat(Arena.percentile(values, 50)).isEqualTo(5);
        assertThat(Arena.percentile(values, 99)).isEqualTo(10);
        assertThat(Arena.percentile(new double[0], 50)).isZero();
    }
}
