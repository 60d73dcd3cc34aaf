import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 between a server and its PostgreSQL, which a test can
 * pause to stall the database, or cut to drop it.
 */
export interface TcpRelay {
  /** The database URL with the relay's host and port in place of PostgreSQL's. */
  readonly url: string;
  /**
   * Stops forwarding bytes in both directions. Open connections stay open, and new
   * ones are accepted but get no bytes, as from a PostgreSQL server that stopped.
   */
  pause(): void;
  /** Forwards the bytes held back since {@link pause}, and every byte after them. */
  resume(): void;
  /** Closes every relayed connection and keeps accepting new ones. */
  dropConnections(): void;
  /** Closes every relayed connection and stops accepting new ones. */
  cut(): Promise<void>;
}

/** Starts a {@link TcpRelay} to the PostgreSQL server of `databaseUrl`. */
export async function startTcpRelay(databaseUrl: string): Promise<TcpRelay> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  let paused = false;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (paused) {
      socket.pause();
    }
  };
  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (!paused) {
            from.resume();
          }
        });
      }
    });
    from.on('end', () => to.end());
    from.on('close', () => to.destroy());
  };

  const relay = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    track(client);
    track(upstream);
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const address = relay.address();
  if (address === null || typeof address === 'string') {
    throw new Error('the relay has no TCP address');
  }

  const relayed = new URL(databaseUrl);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(address.port);
  const dropConnections = () => {
    for (const socket of sockets) {
      socket.destroy();
    }
  };
  return {
    url: relayed.toString(),
    pause: () => {
      paused = true;
      for (const socket of sockets) {
        socket.pause();
      }
    },
    resume: () => {
      paused = false;
      for (const socket of sockets) {
        socket.resume();
      }
    },
    dropConnections,
    cut: async () => {
      const closed = new Promise<void>((resolve) => relay.close(() => resolve()));
      dropConnections();
      await closed;
    },
  };
}
