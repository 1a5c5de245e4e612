import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

// Layers (ARCHITECTURE.md): codecs stay pure, domain code knows no framework.
const CODEC_FILES = ['src/dhcp/packet.ts', 'src/dhcp/options.ts', 'src/dhcp/pxe.ts', 'src/dhcp/reply.ts', 'src/signing/minisign.ts', 'src/signing/blake2b.ts',
  'src/tftp/packet.ts', 'src/tftp/transfer.ts', 'src/lib/**/*.ts', 'src/boot/ipxe-script.ts',
  'src/pki/der.ts', 'src/pki/certificate.ts', 'src/pki/ip-address.ts', 'src/node/apid/roles.ts', 'src/node-state/certificate-proof.ts']
const DOMAIN_FILES = ['src/inventory/**/*.ts', 'src/boot/**/*.ts', 'src/dhcp/lease-engine.ts', 'src/provisioning/**/*.ts', 'src/images/**/*.ts', 'src/power/power-service.ts']

export default [
  { ignores: ['dist/**', 'node_modules/**', 'migrations/**', 'lab/run/**', 'bench/run/**', 'var/**', 'src/proto/generated/**'] },
  ...neostandard({ ts: true }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }]
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // `as const` objects with a same-named type stand in for enums (erasableSyntaxOnly);
      // the compiler already rejects real redeclarations.
      '@typescript-eslint/no-redeclare': 'off',
      // `void promise` is how no-floating-promises marks a deliberately unawaited call.
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    files: CODEC_FILES,
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['node:dgram', 'node:fs', 'node:fs/promises', 'node:net', 'fs', 'dgram', 'pino', 'better-sqlite3', 'drizzle-orm'],
        patterns: ['**/log/*', '**/db/*']
      }]
    }
  },
  {
    files: DOMAIN_FILES,
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['fastify', '@grpc/grpc-js', 'better-sqlite3'],
        patterns: ['drizzle-orm', 'drizzle-orm/*', '**/db/*']
      }]
    }
  }
]
