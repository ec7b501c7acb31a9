/** The sender's HTTP/1.1 client, against real local servers. */
import assert from "node:assert/strict";
import { http1Client, proxyConfigured } from "../lib/loggly/http1.ts";
import { makeTestCertificates } from "./tls_fixture.ts";

/** A server that records what it got and answers as `answer` says. */
function server(answer: (body: Uint8Array, request: Request) => Response | Promise<Response>) {
  const got: { body: Uint8Array; headers: Headers; method: string; path: string }[] = [];
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const body = new Uint8Array(await request.arrayBuffer());
    got.push({
      body,
      headers: request.headers,
      method: request.method,
      path: new URL(request.url).pathname,
    });
    return await answer(body, request);
  });
  return {
    got,
    url: `http://127.0.0.1:${(s.addr as Deno.NetAddr).port}`,
    stop: () => s.shutdown(),
  };
}

Deno.test("http1Client: POSTs the body as given over kept-alive connections, and reads the answer", async () => {
  const s = server(() =>
    new Response('{"response":"ok"}', { headers: { "content-type": "application/json" } })
  );
  const { fetch, close } = http1Client();
  try {
    const body = new TextEncoder().encode("line one\nline two");
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${s.url}/bulk/TOKEN/tag/a,b/`, {
        method: "POST",
        body,
        headers: { "content-type": "text/plain", "user-agent": "loggly-relay/test" },
      });
      assert.equal(response.status, 200);
      assert.equal(await response.text(), '{"response":"ok"}');
      assert.equal(response.headers.get("content-type"), "application/json");
    }
    assert.equal(s.got.length, 3);
    assert.deepEqual(s.got[0].body, new TextEncoder().encode("line one\nline two"));
    assert.equal(s.got[0].method, "POST");
    assert.equal(s.got[0].path, "/bulk/TOKEN/tag/a,b/");
    assert.equal(s.got[0].headers.get("content-type"), "text/plain");
    assert.equal(s.got[0].headers.get("user-agent"), "loggly-relay/test");
  } finally {
    close();
    await s.stop();
  }
});

Deno.test("http1Client: error statuses and Retry-After come through; a 3xx is not followed", async () => {
  let status = 503;
  const s = server(() =>
    new Response("busy", {
      status,
      headers: status === 302 ? { location: "/elsewhere" } : { "retry-after": "7" },
    })
  );
  const { fetch, close } = http1Client();
  try {
    const busy = await fetch(s.url + "/bulk/T/", { method: "POST", body: new Uint8Array(3) });
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get("retry-after"), "7");
    assert.equal(await busy.text(), "busy");
    status = 302;
    const moved = await fetch(s.url + "/bulk/T/", { method: "POST", body: new Uint8Array(3) });
    assert.equal(moved.status, 302);
    await moved.text();
    assert.equal(s.got.length, 2, "the redirect was not followed");
  } finally {
    close();
    await s.stop();
  }
});

Deno.test("http1Client: an abort or a refused connection rejects; nothing is left open", async () => {
  const { promise: held, resolve: release } = Promise.withResolvers<void>();
  const s = server(async () => {
    await held;
    return new Response("late");
  });
  const { fetch, close } = http1Client();
  try {
    const controller = new AbortController();
    const pending = fetch(s.url + "/", {
      method: "POST",
      body: new Uint8Array(10),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("timed out")), 50);
    await assert.rejects(pending);
    await assert.rejects(fetch("http://127.0.0.1:1/", { method: "POST" }), /Connection refused/);
    await assert.rejects(fetch("ftp://127.0.0.1/", { method: "POST" }), /Cannot send to ftp:/);
  } finally {
    release();
    close();
    await s.stop();
  }
});

Deno.test("proxyConfigured: any of the proxy variables Deno's fetch honours", () => {
  assert.equal(proxyConfigured(() => undefined), false);
  assert.equal(proxyConfigured((name) => name === "HTTPS_PROXY" ? "" : undefined), false);
  assert.equal(
    proxyConfigured((name) => name === "https_proxy" ? "http://p:3128" : undefined),
    true,
  );
  assert.equal(proxyConfigured((name) => name === "ALL_PROXY" ? "socks5://p" : undefined), true);
});

/** A raw TCP server: for each connection, answers each request (head and body read) with `answers`, in turn. */
function rawServer(answers: string[], closeAfter = Infinity) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const served = (async () => {
    for await (const conn of listener) {
      connections++;
      (async () => {
        const buf = new Uint8Array(65536);
        let text = "";
        let answered = 0;
        try {
          while (answered < closeAfter) {
            const n = await conn.read(buf);
            if (n === null) break;
            text += new TextDecoder().decode(buf.subarray(0, n));
            const end = text.indexOf("\r\n\r\n");
            const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
            if (end < 0 || text.length < end + 4 + length) continue;
            text = text.slice(end + 4 + length);
            const answer = answers.shift() ?? "";
            await conn.write(new TextEncoder().encode(answer));
            answered++;
            if (answer.startsWith("HTTP/1.0")) break; // its body ends with the connection
          }
        } catch {
          // the client went away
        }
        conn.close();
      })();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    connections: () => connections,
    async stop() {
      listener.close();
      await served.catch(() => {});
    },
  };
}

Deno.test("http1Client: chunked answers, answers up to close, and 100 Continue first", async () => {
  const s = rawServer([
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\n{"respons\r\n8\r\ne":"ok"}\r\n0\r\n\r\n',
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nretry-after: 2\r\ncontent-length: 4\r\n\r\nbusy",
    'HTTP/1.0 200 OK\r\n\r\n{"response":"ok"}',
  ]);
  const { fetch, close } = http1Client();
  try {
    const post = () => fetch(`${s.url}/bulk/T/`, { method: "POST", body: new Uint8Array(5) });
    const chunked = await post();
    assert.deepEqual([chunked.status, await chunked.text()], [200, '{"response":"ok"}']);
    const busy = await post();
    assert.deepEqual([busy.status, busy.headers.get("retry-after"), await busy.text()], [
      503,
      "2",
      "busy",
    ]);
    const toClose = await post(); // HTTP/1.0 without a length: the body ends with the connection
    assert.deepEqual([toClose.status, await toClose.text()], [200, '{"response":"ok"}']);
    assert.equal(s.connections(), 1, "kept alive until the HTTP/1.0 answer");
  } finally {
    close();
    await s.stop();
  }
});

Deno.test("http1Client: a kept-alive connection the server closed is replaced, not an error", async () => {
  const ok = 'HTTP/1.1 200 OK\r\ncontent-length: 17\r\n\r\n{"response":"ok"}';
  const s = rawServer([ok, ok, ok], 1); // each connection answers once, then closes (no header)
  const { fetch, close } = http1Client();
  try {
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // the close has arrived
      const response = await fetch(`${s.url}/bulk/T/`, { method: "POST", body: new Uint8Array(3) });
      assert.equal(response.status, 200);
      await response.text();
    }
    assert.equal(s.connections(), 3);
  } finally {
    close();
    await s.stop();
  }
});

Deno.test("http1Client: HTTPS with Deno's TLS, trusting the given CA", async () => {
  await using certs = await makeTestCertificates();
  const s = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(certs.cert),
    key: await Deno.readTextFile(certs.key),
    onListen: () => {},
  }, async (request) => new Response(`got ${(await request.arrayBuffer()).byteLength}`));
  const port = (s.addr as Deno.NetAddr).port;
  const { fetch, close } = http1Client({ caCerts: [await Deno.readTextFile(certs.caCert)] });
  const untrusting = http1Client();
  try {
    const response = await fetch(`https://localhost:${port}/bulk/T/`, {
      method: "POST",
      body: new Uint8Array(1234),
    });
    assert.deepEqual([response.status, await response.text()], [200, "got 1234"]);
    await assert.rejects(
      untrusting.fetch(`https://localhost:${port}/`, { method: "POST", body: new Uint8Array(1) }),
    );
  } finally {
    close();
    untrusting.close();
    await s.shutdown();
  }
});

Deno.test("http1Client: bytes after an answer are never read as the next request's answer", async () => {
  const s = rawServer([
    // A misbehaving peer: an answer, then a second one nobody asked for.
    'HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 17\r\n\r\n{"response":"ok"}',
    "HTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n",
  ]);
  const { fetch, close } = http1Client();
  try {
    const statuses = [];
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${s.url}/bulk/T/`, { method: "POST", body: new Uint8Array(3) });
      await r.text();
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [503, 503], "the stray 200 was taken for an answer");
    assert.equal(s.connections(), 2);
  } finally {
    close();
    await s.stop();
  }
});

Deno.test("http1Client: an idle connection the server wrote to or closed (a 408) is not reused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const ok = 'HTTP/1.1 200 OK\r\ncontent-length: 17\r\n\r\n{"response":"ok"}';
  let connections = 0;
  const served = (async () => {
    for await (const conn of listener) {
      connections++;
      (async () => {
        const buf = new Uint8Array(4096);
        await conn.read(buf);
        await conn.write(new TextEncoder().encode(ok));
        // Then, idle, a load balancer's unsolicited timeout answer, and the close.
        await new Promise((resolve) => setTimeout(resolve, 20));
        await conn.write(new TextEncoder().encode("HTTP/1.1 408 Request Timeout\r\n\r\n"));
        conn.close();
      })().catch(() => {});
    }
  })();
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/bulk/T/`;
  const { fetch, close } = http1Client();
  try {
    for (let i = 0; i < 2; i++) {
      const r = await fetch(url, { method: "POST", body: new Uint8Array(3) });
      assert.equal(r.status, 200);
      await r.text();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(connections, 2);
  } finally {
    close();
    listener.close();
    await served.catch(() => {});
  }
});

Deno.test("http1Client: an early 413 from a server that stops reading is the answer, not a broken pipe", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      (async () => {
        await conn.read(new Uint8Array(4096)); // the head and a little of the body, no more
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 413 Too Large\r\ncontent-length: 3\r\n\r\nbig"),
        );
        conn.close();
      })().catch(() => {});
    }
  })();
  const url = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/bulk/T/`;
  const { fetch, close } = http1Client();
  try {
    const r = await fetch(url, { method: "POST", body: new Uint8Array(8 * 1024 * 1024) });
    assert.deepEqual([r.status, await r.text()], [413, "big"]);
  } finally {
    close();
    listener.close();
    await served.catch(() => {});
  }
});

Deno.test("http1Client: an abort while still connecting rejects at once", async () => {
  // A listener whose accept queue is full: the kernel drops further SYNs, so connect() hangs.
  const python = new Deno.Command("python3", {
    args: [
      "-c",
      "import socket,sys,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(0)\n" +
      "print(s.getsockname()[1],flush=True)\ntime.sleep(30)",
    ],
    stdout: "piped",
  }).spawn();
  const reader = python.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const port = Number((await reader.read()).value);
  const fillers: Deno.Conn[] = [];
  try {
    // Fill the queue (backlog 0 admits one or two), without waiting on a connect that hangs.
    for (let i = 0; i < 3; i++) {
      const c = await Promise.race([
        Deno.connect({ hostname: "127.0.0.1", port }),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 300)),
      ]);
      if (c === null) break;
      fillers.push(c);
    }
    const { fetch, close } = http1Client();
    const started = Date.now();
    await assert.rejects(
      fetch(`http://127.0.0.1:${port}/`, {
        method: "POST",
        body: new Uint8Array(1),
        signal: AbortSignal.timeout(200),
      }),
    );
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    close();
  } finally {
    for (const c of fillers) c.close();
    python.kill();
    await python.status;
    await reader.cancel().catch(() => {});
  }
});
