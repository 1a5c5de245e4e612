/** An image as the catalogue keeps it. Times are epoch milliseconds. */
export type StoredImage = {
  readonly name: string
  readonly version: string
  /** The manifest's exact bytes, as signed. */
  readonly manifest: string
  readonly signature: string
  readonly keyId: string
  readonly state: 'pending' | 'ready'
  /** The artifact's file name under the image directory. */
  readonly file: string
  readonly compressedSize: number
  readonly size: number
  readonly importedAt: number
  readonly readyAt: number | null
}

/** Persistence of the image catalogue. */
export interface ImageStore {
  /** Inserts a pending image; ERR_IMAGE_EXISTS when that name and version are already known. */
  insert (image: StoredImage): Promise<void>
  get (name: string, version: string): Promise<StoredImage | undefined>
  /** Every version of `name` (or every image), newest import first. */
  list (name?: string): Promise<StoredImage[]>
  markReady (name: string, version: string, at: number): Promise<void>
}
