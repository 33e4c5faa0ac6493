"""The async call graph of a program with nested TaskGroups and gather (docs/call-graph.md)."""

import asyncio

import batonio


async def fetch(name):
    await asyncio.sleep(0)
    if name == "b":
        batonio.print_call_graph()  # who runs this, and who waits for it
    await asyncio.sleep(0.01)


async def crawl(site):
    await batonio.gather(fetch("a"), fetch("b"))


async def main():
    async with batonio.TaskGroup() as outer:
        outer.create_task(crawl("example.org"), name="crawl")


batonio.run(main())
