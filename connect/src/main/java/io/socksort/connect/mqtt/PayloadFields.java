package io.socksort.connect.mqtt;

import java.nio.charset.StandardCharsets;

/**
 * The three top-level fields of a prediction the task needs — {@code device}, {@code seq},
 * {@code ts} — read from a JSON payload without a JSON library on the plugin path.
 *
 * Anything else in the payload is skipped unread. A payload that is not a JSON object,
 * or whose fields have other types, yields absent fields, never an exception: the record
 * still goes to Kafka as the raw bytes it was.
 */
public final class PayloadFields {
    public final String device;
    public final Long seq;
    public final Long ts;

    private PayloadFields(String device, Long seq, Long ts) {
        this.device = device;
        this.seq = seq;
        this.ts = ts;
    }

    static final PayloadFields NONE = new PayloadFields(null, null, null);

    /** True when the message can be placed in its device's sequence (for redelivery checks). */
    public boolean sequenced() {
        return device != null && seq != null && ts != null;
    }

    public static PayloadFields parse(byte[] payload) {
        try {
            return new Reader(new String(payload, StandardCharsets.UTF_8)).object();
        } catch (RuntimeException malformed) {
            return NONE;
        }
    }

    private static final class Reader {
        private final String s;
        private int i;

        Reader(String s) {
            this.s = s;
        }

        PayloadFields object() {
            String device = null;
            Long seq = null;
            Long ts = null;
            expect('{');
            if (peek() == '}') {
                return NONE;
            }
            while (true) {
                String key = string();
                expect(':');
                skipSpace();
                switch (key) {
                    case "device" -> device = peek() == '"' ? string() : skipValue(null);
                    case "seq" -> seq = wholeNumberOrSkip();
                    case "ts" -> ts = wholeNumberOrSkip();
                    default -> skipValue(null);
                }
                char next = next();
                if (next == '}') {
                    break;
                }
                if (next != ',') {
                    throw new IllegalArgumentException("expected , or }");
                }
            }
            skipSpace();
            if (i != s.length()) {
                throw new IllegalArgumentException("trailing data");
            }
            return new PayloadFields(device, seq, ts);
        }

        private Long wholeNumberOrSkip() {
            int start = i;
            skipValue(null);
            String text = s.substring(start, i).trim();
            if (!text.matches("-?\\d{1,18}")) {
                return null;
            }
            long value = Long.parseLong(text);
            return value >= 0 ? value : null;
        }

        private <T> T skipValue(T result) {
            skipSpace();
            char c = peek();
            if (c == '"') {
                string();
            } else if (c == '{' || c == '[') {
                skipNested();
            } else {
                int start = i;
                while (i < s.length() && ",}] \t\r\n".indexOf(s.charAt(i)) < 0) {
                    i++;
                }
                if (i == start) {
                    throw new IllegalArgumentException("missing value");
                }
            }
            return result;
        }

        private void skipNested() {
            int depth = 0;
            do {
                char c = s.charAt(i);
                if (c == '"') {
                    string();
                    continue;
                }
                if (c == '{' || c == '[') {
                    depth++;
                } else if (c == '}' || c == ']') {
                    depth--;
                }
                i++;
            } while (depth > 0);
        }

        private String string() {
            skipSpace();
            if (s.charAt(i) != '"') {
                throw new IllegalArgumentException("expected a string");
            }
            StringBuilder out = new StringBuilder();
            i++;
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return out.toString();
                }
                if (c == '\\') {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n' -> out.append('\n');
                        case 't' -> out.append('\t');
                        case 'r' -> out.append('\r');
                        case 'b' -> out.append('\b');
                        case 'f' -> out.append('\f');
                        case 'u' -> {
                            out.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                            i += 4;
                        }
                        default -> out.append(e);
                    }
                } else {
                    out.append(c);
                }
            }
        }

        private void expect(char c) {
            if (next() != c) {
                throw new IllegalArgumentException("expected " + c);
            }
        }

        private char next() {
            skipSpace();
            return s.charAt(i++);
        }

        private char peek() {
            skipSpace();
            return s.charAt(i);
        }

        private void skipSpace() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }
}
