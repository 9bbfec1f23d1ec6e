import { describe, expect, it } from "vitest";
import { oauthResult } from "./auth.svelte";

describe("the end of an OAuth sign-in", () => {
  it("reads the refresh token or the reason from the fragment", () => {
    expect(oauthResult("#oauth_refresh_token=rt_a%2Bb")).toEqual({ refreshToken: "rt_a+b" });
    expect(oauthResult("#oauth_error=github+refused+the+login")).toEqual({ error: "github refused the login" });
    expect(oauthResult("")).toBeNull();
    expect(oauthResult("#section-2")).toBeNull();
  });
});
