import assert from "node:assert/strict";
import { isoUtc, utcYear } from "../lib/iso_time.ts";
import { mulberry32 } from "./oracle.ts";

Deno.test("isoUtc: the same string as Date#toISOString, edges and 200,000 random instants", () => {
  const edges = [
    0,
    1,
    999,
    Date.UTC(2000, 1, 29, 23, 59, 59, 999), // a leap day of a century divisible by 400
    Date.UTC(2100, 2, 1), // 2100 is not a leap year
    Date.UTC(2024, 11, 31, 23, 59, 59, 999),
    Date.UTC(2026, 10, 27, 3, 57, 45, 5),
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    Date.UTC(10000, 0, 1), // +010000: the built-in's form
    -1, // 1969
    Date.UTC(-50, 0, 1),
    8.64e15,
    1.5, // not whole milliseconds
  ];
  for (const ms of edges) assert.equal(isoUtc(ms), new Date(ms).toISOString(), String(ms));
  const random = mulberry32(20261127);
  for (let i = 0; i < 200_000; i++) {
    const ms = Math.floor(random() * 253_402_300_800_000);
    assert.equal(isoUtc(ms), new Date(ms).toISOString(), String(ms));
  }
});

Deno.test("isoUtc: instants within one second and across its edges (the second's text is reused)", () => {
  const base = Date.UTC(2026, 10, 30, 23, 59, 59);
  for (
    const ms of [base, base + 1, base + 999, base + 1000, base + 999, base - 1, base + 86_400_000]
  ) {
    assert.equal(isoUtc(ms), new Date(ms).toISOString(), String(ms));
  }
});

Deno.test("utcYear: the same year as Date#getUTCFullYear", () => {
  const random = mulberry32(20261130);
  const instants = [
    0,
    -1,
    8.64e15,
    NaN,
    Date.UTC(2024, 11, 31, 23, 59, 59, 999),
    Date.UTC(2025, 0, 1),
  ];
  for (let i = 0; i < 10_000; i++) instants.push(Math.floor(random() * 253_402_300_800_000));
  for (const ms of instants) {
    assert.equal(utcYear(ms), new Date(ms).getUTCFullYear(), String(ms));
  }
});
