package dev.latchkey.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A request frame written straight out is the JSON the mapper would write for the same request. */
class ChannelFrameTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void stringsNumbersBooleansAndOtherValuesComeOutAsTheMapperWouldWriteThem() throws Exception {
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("path", "/a \"quoted\" \\ path\twith\ncontrols \u0001 and ünïcödé ☃ \uD83D\uDD12");
        args.put("mode", "exclusive");
        args.put("waitMs", 5_000L);
        args.put("lockDelayMs", 0);
        args.put("recursive", true);
        args.put("ratio", 0.5);
        args.put("names", List.of("x", "y"));
        args.put("nothing", null);
        args.put("we\"ird key", "v");

        String frame = Channel.frame(42, "acq\"uire", args);

        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("id", 42);
        expected.put("op", "acq\"uire");
        expected.putAll(args);
        JsonNode parsed = JSON.readTree(frame);
        assertThat(parsed).isEqualTo(JSON.readTree(JSON.writeValueAsString(expected)));
        assertThat(frame).doesNotContain("\n").doesNotContain("\t");
    }

    @Test
    void aFrameWithoutArgumentsHoldsTheIdAndTheOp() throws Exception {
        assertThat(JSON.readTree(Channel.frame(1, "keepalive", Map.of()))).isEqualTo(JSON.readTree("{\"id\":1,\"op\":\"keepalive\"}"));
    }
}
