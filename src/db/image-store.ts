import { and, desc, eq } from 'drizzle-orm'
import { CodedError } from '../lib/errors.ts'
import type { ImageStore, StoredImage } from '../images/ports.ts'
import type { Db } from './open.ts'
import { images } from './schema.ts'

type Row = typeof images.$inferSelect
const toImage = (r: Row): StoredImage => ({ ...r, state: r.state as StoredImage['state'] })

/** ImageStore over SQLite. */
export class SqliteImageStore implements ImageStore {
  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
  }

  async insert (image: StoredImage): Promise<void> {
    const done = this.#db.insert(images).values(image).onConflictDoNothing().run()
    if (done.changes !== 1) throw new CodedError('ERR_IMAGE_EXISTS', `image ${image.name}:${image.version} is already imported; images are never modified in place (give the new one another version)`, { name: image.name, version: image.version })
  }

  async get (name: string, version: string): Promise<StoredImage | undefined> {
    const row = this.#db.select().from(images).where(and(eq(images.name, name), eq(images.version, version))).get()
    return row === undefined ? undefined : toImage(row)
  }

  async list (name?: string): Promise<StoredImage[]> {
    const q = this.#db.select().from(images)
    return (name === undefined ? q : q.where(eq(images.name, name))).orderBy(desc(images.importedAt), desc(images.version)).all().map(toImage)
  }

  async markReady (name: string, version: string, at: number): Promise<void> {
    this.#db.update(images).set({ state: 'ready', readyAt: at }).where(and(eq(images.name, name), eq(images.version, version))).run()
  }
}
