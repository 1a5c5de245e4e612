import type { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { ImageService, ImageView } from '../images/image-service.ts'
import type { ImageJson } from './api-types.ts'

const iso = (t: number | null): string | null => t === null ? null : new Date(t).toISOString()

function imageJson (i: ImageView): ImageJson {
  return { ...i, importedAt: iso(i.importedAt) as string, readyAt: iso(i.readyAt) }
}

const NAME = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } as const
const VERSION = { type: 'string', pattern: '^[0-9A-Za-z.+_~-]{1,64}$' } as const

/**
 * The image catalogue: import a signed manifest (verified before it is stored), then upload its
 * artifact (hashed while it streams, kept only when it matches), list and show.
 */
export function registerImageRoutes (app: FastifyInstance, images: ImageService, artifactBase?: () => string): void {
  // The artifact is streamed straight to disk, never buffered: the route reads the raw request.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => { done(null, payload) })

  app.post<{ Body: { manifest: string, signature: string } }>('/api/v1/images', {
    bodyLimit: 2 * 1024 * 1024,
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['manifest', 'signature'],
        properties: { manifest: { type: 'string', minLength: 2, maxLength: 1024 * 1024 }, signature: { type: 'string', minLength: 1, maxLength: 4096 } }
      }
    }
  }, async (req, reply) => {
    const image = await images.importManifest(Buffer.from(req.body.manifest, 'utf8'), req.body.signature)
    return await reply.code(201).send({ ...imageJson(image), upload: `/api/v1/images/${image.name}/${image.version}/artifact` })
  })

  app.put<{ Params: { name: string, version: string } }>('/api/v1/images/:name/:version/artifact', {
    bodyLimit: Number.MAX_SAFE_INTEGER,
    schema: { params: { type: 'object', required: ['name', 'version'], properties: { name: NAME, version: VERSION } } }
  }, async (req) => {
    return imageJson(await images.uploadArtifact(req.params.name, req.params.version, req.body as Readable))
  })

  app.get<{ Querystring: { name?: string } }>('/api/v1/images', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { name: NAME } } }
  }, async (req) => ({ items: (await images.list(req.query.name)).map(imageJson) }))

  app.get<{ Params: { ref: string } }>('/api/v1/images/:ref', {
    schema: { params: { type: 'object', required: ['ref'], properties: { ref: { type: 'string', minLength: 1, maxLength: 130 } } } }
  }, async (req) => imageJson(await images.resolve(req.params.ref)))

  // For upgrades (the CLI's and the fleet rollout's): the signed manifest as the node verifies it,
  // and where the node fetches the artifact's frames (the boot listener, as an install does).
  if (artifactBase !== undefined) {
    app.get<{ Params: { ref: string } }>('/api/v1/images/:ref/release', {
      schema: { params: { type: 'object', required: ['ref'], properties: { ref: { type: 'string', minLength: 1, maxLength: 130 } } } }
    }, async (req) => {
      const r = await images.release(req.params.ref)
      return { ...r, artifactUrl: `${artifactBase()}/images/${encodeURIComponent(r.name)}/${encodeURIComponent(r.version)}` }
    })
  }
}
