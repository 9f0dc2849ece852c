import { describe, expect, it } from "vitest";
import { parseToken } from "./auth";

const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const jwt = (claims: object) => `${b64({ alg: "HS256" })}.${b64(claims)}.sig`;

describe("signing in with a token", () => {
  it("reads the org, user and roles", () => {
    const s = parseToken(`Bearer ${jwt({ sub: "alice", org_id: "acme", roles: ["admin"] })}`);
    expect(s).toMatchObject({ orgId: "acme", userId: "alice", roles: ["admin"] });
  });
  it("refuses what is not a JWT, has no org or has expired", () => {
    expect(parseToken("hello")).toMatch(/three parts/);
    expect(parseToken(jwt({ sub: "a" }))).toMatch(/org_id/);
    expect(parseToken(jwt({ sub: "a", org_id: "o", exp: 1 }))).toMatch(/expired/);
  });
});
