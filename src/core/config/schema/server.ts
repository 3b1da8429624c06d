import { z } from 'zod';
import { int, section, str } from './common.ts';

export const serverSchema = section(
  z.strictObject({
    host: str('a host name or IP address to listen on').default('127.0.0.1'),
    port: int(0, 65535, 'a TCP port between 0 and 65535 (0 picks a free port)').default(8080),
  }),
);
