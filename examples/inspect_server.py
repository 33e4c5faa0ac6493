"""A small album player that runs until killed: look at it with `python -m batonio ps PID`.

    python -m batonio --inspect examples/inspect_server.py &
    python -m batonio ps $!
    python -m batonio pstree $!
"""

import asyncio
import os


async def play(track):
    await asyncio.sleep(3600)


async def album(name, tracks):
    async with asyncio.TaskGroup() as tg:
        for track in tracks:
            tg.create_task(play(track), name=track)


async def main():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(album("Sundowning", ["TNDNBTG", "Levitate"]), name="Sundowning")
        tg.create_task(album("TMBTE", ["DYWTYLM"]), name="TMBTE")
        await asyncio.sleep(0.05)
        print(f"playing, pid {os.getpid()}", flush=True)


asyncio.run(main())
