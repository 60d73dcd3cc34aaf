import { type AddressInfo, createServer, type Socket } from 'node:net';

/** An SMTP server on 127.0.0.1 that accepts every message and records the commands as sent. */
export interface SmtpRecorder {
  url: string;
  /** Every command line received, in order, decoded as UTF-8; message data is not included. */
  commands: string[];
  close(): Promise<void>;
}

/**
 * Starts a minimal ESMTP server that records the raw command lines, so that a test can check
 * the exact bytes of `MAIL FROM` and `RCPT TO`. smtp-server cannot serve here, because it
 * decodes `xn--` domains before its callbacks run. Its EHLO response lists PIPELINING and 8BITMIME, and SMTPUTF8 when `smtpUtf8` is true.
 */
export async function startSmtpRecorder(options: { smtpUtf8: boolean }): Promise<SmtpRecorder> {
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const extensions = ['PIPELINING', '8BITMIME', ...(options.smtpUtf8 ? ['SMTPUTF8'] : [])];

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('220 recorder ESMTP\r\n');

    let buffered = '';
    let inData = false;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);

        if (inData) {
          if (line === '.') {
            inData = false;
            socket.write('250 message accepted\r\n');
          }
          continue;
        }

        commands.push(line);
        socket.write(reply(line, extensions));
        if (/^DATA$/i.test(line)) {
          inData = true;
        } else if (/^QUIT$/i.test(line)) {
          socket.end();
        }
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    commands,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) {
          socket.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

function reply(command: string, extensions: readonly string[]): string {
  const verb = command.split(' ')[0]?.toUpperCase();
  if (verb === 'EHLO') {
    const lines = ['recorder', ...extensions];
    return lines
      .map((line, index) => `250${index < lines.length - 1 ? '-' : ' '}${line}\r\n`)
      .join('');
  }
  if (verb === 'DATA') {
    return '354 end data with <CR><LF>.<CR><LF>\r\n';
  }
  if (verb === 'QUIT') {
    return '221 bye\r\n';
  }
  return '250 ok\r\n';
}
