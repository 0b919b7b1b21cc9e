export { createFileStore, sha256, FILES_PROTOCOL, MAX_FILE_BYTES, FileIntegrityError, FileUnavailableError, FileTooLargeError, type FileStore } from './store.ts'
