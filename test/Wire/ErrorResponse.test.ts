import { describe, expect, it } from "@effect/vitest"
import { errorResponse } from "../../src/Wire/ErrorResponse.ts"

describe("errorResponse", () => {
  it("is plain text naming the status, with an optional note, never more", () => {
    expect(errorResponse(500)).toEqual({
      status: 500,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
      body: { _tag: "Text", text: "500 Internal Server Error" }
    })
    expect(errorResponse(413).body).toEqual({ _tag: "Text", text: "413 Content Too Large" })
    expect(errorResponse(503, "no app is being served").body).toEqual({
      _tag: "Text",
      text: "503 Service Unavailable: no app is being served"
    })
  })

  it("is one shared object per status without a note (the serializer keeps its bytes)", () => {
    expect(errorResponse(400)).toBe(errorResponse(400))
    expect(errorResponse(503, "x")).not.toBe(errorResponse(503, "x"))
  })
})
