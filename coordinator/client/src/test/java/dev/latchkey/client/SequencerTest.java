package dev.latchkey.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SequencerTest {

    @Test
    void theTextFormRoundTripsEvenWithColonsInThePath() {
        Sequencer s = new Sequencer("/shop/locks/item:42", Sequencer.Mode.EXCLUSIVE, 17, "s-9f8e7d");
        assertThat(s.encode()).isEqualTo("/shop/locks/item%3A42:exclusive:17:s-9f8e7d");
        assertThat(Sequencer.parse(s.encode())).isEqualTo(s);
        Sequencer shared = new Sequencer("/a%b", Sequencer.Mode.SHARED, 1, "x");
        assertThat(Sequencer.parse(shared.encode())).isEqualTo(shared);
    }

    @Test
    void malformedSequencersAreRefusedWithTheReason() {
        assertThatThrownBy(() -> Sequencer.parse("/a:exclusive:3")).hasMessageContaining("path:mode:generation:session");
        assertThatThrownBy(() -> Sequencer.parse("/a:sometimes:3:s1")).hasMessageContaining("unknown lock mode 'sometimes'");
        assertThatThrownBy(() -> Sequencer.parse("/a:shared:three:s1")).hasMessageContaining("is not a number");
        assertThatThrownBy(() -> Sequencer.parse("/a:shared:0:s1")).hasMessageContaining("starts at 1");
        assertThatThrownBy(() -> Sequencer.parse("a:shared:1:s1")).hasMessageContaining("must start with '/'");
        assertThatThrownBy(() -> Sequencer.parse("/a:shared:1:bad session")).hasMessageContaining("not a session id");
    }

    @Test
    void laterGrantsOfOneLockAreNewer() {
        Sequencer first = new Sequencer("/l", Sequencer.Mode.EXCLUSIVE, 4, "a");
        Sequencer second = new Sequencer("/l", Sequencer.Mode.EXCLUSIVE, 5, "b");
        assertThat(second.isNewerThan(first)).isTrue();
        assertThat(first.isNewerThan(second)).isFalse();
        assertThatThrownBy(() -> first.isNewerThan(new Sequencer("/m", Sequencer.Mode.EXCLUSIVE, 9, "a")))
                .hasMessageContaining("different locks");
    }
}
