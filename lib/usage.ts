import { VERSION } from "./version.ts";

/** The hand-written `--help` text. */
export const USAGE =
  `loggly-relay ${VERSION}: receive syslog (UDP, TCP) and HTTP events and forward them to Loggly in batches.

Usage: loggly-relay --token TOKEN [options]

Loggly
  -k, --token TOKEN          Loggly customer token (or env LOGGLY_TOKEN, or --token-file)
      --token-file FILE      read the token from FILE
      --accept-token TOKEN   also forward events that name this other Loggly account's token
                             (repeatable); others are refused and counted
      --accept-token-file FILE  tokens to accept, one a line
      --loggly-url URL       Loggly base URL (default https://logs-01.loggly.com)
      --tag TAG              tag every event (repeatable; letters, digits, - . _)
      --dry-run              print the JSON events to stdout instead of sending them

Inputs
      --udp HOST:PORT        syslog over UDP (default 0.0.0.0:5140; "off" to disable)
      --tcp HOST:PORT        syslog over TCP (default 0.0.0.0:5140; "off" to disable)
  -p, --port PORT            port of both UDP and TCP (syslog2loggly's flag)
      --udp-recv-buffer SIZE the relay's own buffer of UDP datagrams read but not yet parsed
                             (default 8MiB; more are dropped and counted); the kernel's is extra
      --tls HOST:PORT        syslog over TLS, RFC 5425 (off by default; port 6514 if omitted)
      --tls-cert FILE        PEM certificate chain for --tls (re-read on SIGHUP)
      --tls-key FILE         PEM private key for --tls
      --tls-client-ca FILE   require client certificates issued by a CA in FILE
      --tls-max-version V    1.2 (default) or 1.3; 1.3 can lose the last messages of
                             senders that close at once (see README)
      --max-message-bytes SIZE  longer messages are truncated and marked (default 64KiB)
      --idle-timeout DUR     close TCP/TLS connections idle this long (default 10m; 0 = never)
      --message-timeout DUR  close a connection that takes longer to finish a message (60s)
      --handshake-timeout DUR  close a TLS connection (syslog or HTTPS) that has not finished
                             its handshake this long after it got a place (default 5s; 0 = never)
      --max-connections N    connections per input, waiting ones included (TCP, TLS; default 1000)
      --max-connections-per-peer N  connections read at once per sender address and input
                             (default 100); more wait unread, up to 2s, for one to end
      --syslog-timezone TZ   zone of RFC 3164 stamps, which carry none (default UTC)

Delivery
      --batch-max-events N   events per request (default 1000)
      --batch-max-bytes SIZE bytes per request (default and maximum 5MB)
      --linger DUR           send a partial batch after this long (default 1s)
      --concurrency N        requests in flight (default 4)
      --queue-max-events N   events held in memory before back-pressure (default 20000)
      --queue-max-bytes SIZE bytes held in memory before back-pressure (default 16MiB)
      --retry-initial-delay DUR  first retry delay (default 500ms; retries while Loggly fails
                             are at most 5s apart, see README)
      --retry-max-delay DUR  retry delay after 401/403/404 (a bad token or URL; default 60s)
      --dead-letter FILE     append events Loggly refused (4xx) here as NDJSON
      --shutdown-timeout DUR time to flush on SIGINT/SIGTERM (default 10s)

HTTP input (off by default)
      --http HOST:PORT       Loggly-compatible /inputs and /bulk, /v1/events, /healthz, /metrics
                             (a bare port listens on 127.0.0.1)
      --http-tls-cert FILE   serve HTTPS with this PEM certificate chain ...
      --http-tls-key FILE    ... and this PEM key
      --http-token TOKEN     also accept TOKEN in Loggly paths; required as a bearer token on
                             /v1/events (and on /healthz, /metrics beyond loopback) when given
      --http-max-body-bytes SIZE  largest request body, after gzip (default 5MB)
      --health-failing-after DUR  /healthz answers 503 once every delivery failed this long (5m)

Durable spool (off: events are held in memory only)
      --spool DIR            keep events on disk until Loggly accepts them (SQLite, WAL)
      --spool-sync POLICY    always, interval (default) or os: what a power cut can lose
      --spool-max-bytes SIZE events held on disk before back-pressure (default 1GiB)

The relay's own logs (stderr)
  -v, --verbose              more detail (repeat for more)
      --log-format FORMAT    text (default) or json

Other
  -f FILE                    read a syslog2loggly config file (apikey=..., port=...); without a
                             token, /etc/syslog2loggly.conf is read when it exists
  -D                         accepted for syslog2loggly; runs in the foreground (see README)
  -h, --help                 show this help
      --version              show the version

DUR is 500ms, 10s, 5m or a number of seconds; SIZE is bytes, or 64KiB, 5MB, 1GiB.
Flags override LOGGLY_TOKEN, which overrides -f.
`;
