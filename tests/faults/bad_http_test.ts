/**
 * Fault scenarios 4 and 5 (issue 11): JSON nested 10,000 levels deep, and unbounded tags, over
 * HTTP. Each is refused with 400 at once (never 500, never taken and then lost), the other lines
 * of a /bulk request are kept, and Loggly never sees a request it would refuse.
 */
import assert from "node:assert/strict";
import { figures, startRig, TEST_TOKEN } from "./fault_kit.ts";

const nest = (levels: number) => '{"a":'.repeat(levels) + "1" + "}".repeat(levels);

Deno.test("fault 4 and 5: deep JSON and unbounded tags get 400 before anything is queued", async () => {
  const rig = await startRig([]);
  const base = `http://127.0.0.1:${rig.ports.http}`;
  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(base + path, { method: "POST", body, headers });
    return { status: response.status, text: await response.text() };
  };
  try {
    const deep = nest(10_000);
    const statuses: Record<string, number> = {
      inputs: (await post(`/inputs/${TEST_TOKEN}/`, deep)).status,
      v1: (await post("/v1/events", deep, { "content-type": "application/json" })).status,
    };
    const bulk = await post(`/bulk/${TEST_TOKEN}/`, `{"n":1}\n${deep}\n{"n":2}`);
    statuses.bulk = bulk.status;
    assert.deepEqual(statuses, { inputs: 400, v1: 400, bulk: 400 });
    assert.equal(JSON.parse(bulk.text).accepted, 2, "the other lines of /bulk are kept");

    const manyTags = Array.from({ length: 5000 }, (_, i) => `t${i}`).join(",");
    const header = await post(`/inputs/${TEST_TOKEN}/`, '{"n":3}', { "x-loggly-tag": manyTags });
    const longTag = await post(`/inputs/${TEST_TOKEN}/tag/${"x".repeat(10_000)}/`, '{"n":4}');
    assert.deepEqual([header.status, longTag.status], [400, 400]);

    const fine = await post(`/inputs/${TEST_TOKEN}/tag/ok/`, '{"n":5}');
    assert.equal(fine.status, 200);
    await rig.stub.waitForCount(3);
    assert.deepEqual(rig.stub.received.map((r) => r.event.n).sort(), [1, 2, 5]);
    const text = await (await fetch(`${base}/metrics`)).text();
    const fiveHundreds = text.split("\n").filter((l) =>
      l.startsWith('loggly_relay_http_requests_total{status="5')
    );
    assert.deepEqual(fiveHundreds, []);
    assert.deepEqual(rig.stub.violations, []);
    assert.ok(rig.stub.statuses.every((s) => s === 200), `Loggly answered ${rig.stub.statuses}`);
    figures("4 deep JSON", { ...statuses, bulk_lines_kept: 2, http_5xx: 0 });
    figures("5 tags", {
      tags_5000_in_header: header.status,
      tag_of_10000_chars: longTag.status,
      loggly_non_200: rig.stub.statuses.filter((s) => s !== 200).length,
    });
  } finally {
    await rig.close();
  }
});
