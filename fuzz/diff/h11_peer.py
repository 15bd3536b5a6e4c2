"""h11 as a peer of the differential run (see H11Peer.ts).

Reads one input per line on stdin (the bytes of one connection, base64),
writes one JSON verdict per line on stdout: the requests read whole
(method, target, body as Latin-1 text, whether the
connection persists after it), in order, and how the connection
ended (see Verdict.ts). Each input is fed to a fresh server-side
h11.Connection followed by EOF; every request read whole is answered (an
empty 200) so that h11 moves on to the next one.
"""
import base64
import json
import sys

import h11


def latin1(data):
    return bytes(data).decode("latin-1")


def verdict(data):
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    requests = []
    current = None
    body = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as error:
            message = str(error)
            if "unexpectedly closed" in message or "without sending complete message body" in message:
                return {"requests": requests, "end": "incomplete"}
            return {
                "requests": requests,
                "end": "rejected",
                "detail": message,
                "status": error.error_status_hint,
            }
        if event is h11.NEED_DATA:
            return {"requests": requests, "end": "incomplete"}
        if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
            return {"requests": requests, "end": "clean"}
        if isinstance(event, h11.Request):
            current = event
            body = []
        elif isinstance(event, h11.Data):
            body.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            request = {
                "method": latin1(current.method),
                "target": latin1(current.target),
                "body": latin1(b"".join(body)),
                "keepAlive": True,
            }
            requests.append(request)
            if current.method == b"CONNECT":
                return {"requests": requests, "end": "tunnel"}
            conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
            conn.send(h11.EndOfMessage())
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                # Connection: close, HTTP/1.0 without keep-alive: nothing more is read.
                request["keepAlive"] = False
                return {"requests": requests, "end": "clean"}
            conn.start_next_cycle()


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        print(json.dumps(verdict(base64.b64decode(line))), flush=False)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
