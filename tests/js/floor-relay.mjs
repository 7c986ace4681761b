// The least a relay can do in the bench's fanout scenario, to measure the harness rather than a relay: answer a
// REQ with EOSE, an EVENT with OK true, and pass each EVENT to every subscription whose kinds, authors and since
// let it through. No signature check, no store, no limits. Whatever latency the bench measures against it is the
// floor this machine, its kernel and the bench's own client put under any relay's figure.
//
//   node tests/js/floor-relay.mjs 7790      (after npm ci in tests/js; loopback only)
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 7790);
const server = new WebSocketServer({ port, host: '127.0.0.1' });
const subscriptions = new Map();   // socket -> [subscription id, filter]

server.on('connection', socket => {
  socket.on('message', data => {
    const message = JSON.parse(data);
    if (message[0] === 'REQ') {
      subscriptions.set(socket, [message[1], message[2] ?? {}]);
      socket.send(JSON.stringify(['EOSE', message[1]]));
    } else if (message[0] === 'EVENT') {
      const event = message[1];
      socket.send(JSON.stringify(['OK', event.id, true, '']));
      const json = JSON.stringify(event);
      for (const [subscriber, [id, filter]] of subscriptions) {
        if (filter.kinds && !filter.kinds.includes(event.kind)) continue;
        if (filter.authors && !filter.authors.includes(event.pubkey)) continue;
        if (filter.since && event.created_at < filter.since) continue;
        subscriber.send(`["EVENT",${JSON.stringify(id)},${json}]`);
      }
    } else if (message[0] === 'CLOSE') {
      subscriptions.delete(socket);
    }
  });
  socket.on('close', () => subscriptions.delete(socket));
});
server.on('listening', () => console.error(`floor relay on ws://127.0.0.1:${port}`));
