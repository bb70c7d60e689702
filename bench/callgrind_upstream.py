"""A keep-alive HTTP/1.1 upstream answering every request 200 with 100 bytes (for bench/callgrind.sh)."""
import asyncio, sys
RESP=b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\ncontent-type: text/plain\r\n\r\n"+b"x"*100
async def handle(r,w):
    buf=b""
    while True:
        d=await r.read(65536)
        if not d: break
        buf+=d
        while b"\r\n\r\n" in buf:
            _,buf=buf.split(b"\r\n\r\n",1)
            w.write(RESP)
        await w.drain()
    w.close()
async def main():
    s=await asyncio.start_server(handle,"127.0.0.1",int(sys.argv[1]))
    await s.serve_forever()
asyncio.run(main())
