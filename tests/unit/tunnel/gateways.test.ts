import { describe, expect, test } from "bun:test";
import { GatewayChoice, MAX_REDIRECTS, REDIRECT_WINDOW_MS } from "../../../cli/tunnel/gateways.ts";

describe("GatewayChoice", () => {
  test("tries the list in order; a full round of failures says so, then starts over", () => {
    const g = new GatewayChoice(["a", "b", "c"]);
    expect(g.current).toBe("a");
    expect(g.unreachable()).toBe(true);
    expect(g.current).toBe("b");
    expect(g.unreachable()).toBe(true);
    expect(g.current).toBe("c");
    expect(g.unreachable()).toBe(false);
    expect(g.current).toBe("a");
  });

  test("an answer resets the round: the next failure moves on without reporting", () => {
    const g = new GatewayChoice(["a", "b"]);
    expect(g.unreachable()).toBe(true);
    g.answered();
    expect(g.unreachable()).toBe(true);
    expect(g.current).toBe("a");
    expect(g.unreachable()).toBe(false);
  });

  test("one gateway: every failure is a full round", () => {
    const g = new GatewayChoice(["a"]);
    expect(g.unreachable()).toBe(false);
    expect(g.current).toBe("a");
  });

  test("a redirect target replaces the list's entry until it fails", () => {
    const g = new GatewayChoice(["a", "b"]);
    expect(g.redirect("x", 0)).toBe(true);
    expect(g.current).toBe("x");
    expect(g.unreachable()).toBe(true);
    expect(g.current).toBe("a");
  });

  test(`redirect loops: at most ${MAX_REDIRECTS} in ${REDIRECT_WINDOW_MS / 1000} s`, () => {
    const g = new GatewayChoice(["a"]);
    for (let i = 0; i < MAX_REDIRECTS; i++) expect(g.redirect(`x${i}`, i * 1000)).toBe(true);
    expect(g.redirect("y", 10_000)).toBe(false);
    expect(g.current).toBe(`x${MAX_REDIRECTS - 1}`);
    expect(g.redirect("z", REDIRECT_WINDOW_MS + 1)).toBe(true);
  });
});
