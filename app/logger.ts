/** pino, JSON by default, pretty on a terminal; LOG_LEVEL sets the level. */
import { pino, type Logger } from 'pino';

export function createLogger(options: { name?: string; level?: string; pretty?: boolean } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  return pino({
    name: options.name ?? 'idflow',
    level,
    redact: { paths: ['req.headers.authorization', 'token', '*.token'], censor: '[REDACTED]' },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } } }
      : {}),
  });
}
