/**
 * The plain-text response the server answers an error with (`400 Bad
 * Request`, `500 Internal Server Error`, `503 Service Unavailable: ...`):
 * every such answer is made here. Never the error's details: those go to
 * the log.
 *
 * @since 0.1.0
 */
import type { Response } from "../Response/Response.ts"
import { framingOf } from "./ResponseFraming.ts"
import { reasonPhrase, serializeResponse } from "./ResponseSerializer.ts"

const headers = { "Content-Type": "text/plain; charset=utf-8" }
const plain = new Map<number, Response>()

/**
 * The response for an error status: `"<status> <reason>"`, or
 * `"<status> <reason>: <note>"` with a note for the client. Without a note
 * the response is made once per status and shared (the serializer then
 * keeps its bytes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const errorResponse = (status: number, note?: string): Response => {
  if (note !== undefined) return make(status, `${status} ${reasonPhrase(status)}: ${note}`)
  let response = plain.get(status)
  if (response === undefined) {
    response = make(status, `${status} ${reasonPhrase(status)}`)
    plain.set(status, response)
  }
  return response
}

const make = (status: number, text: string): Response => ({ status, headers, body: { _tag: "Text", text } })

/**
 * Writes the error response for `status` as the last response of its
 * connection (`Connection: close`); for a HEAD, without its body. Returns
 * the response written.
 *
 * @throws nothing: the response is the server's own
 * @since 0.1.0
 * @category constructors
 */
export const writeErrorResponse = (status: number, isHead: boolean, write: (data: Uint8Array) => void): Response => {
  const response = errorResponse(status)
  serializeResponse(response, framingOf(status, true, isHead, true), "close", write)
  return response
}
