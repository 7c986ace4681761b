using System.Buffers;

namespace NostrRelay.Unit.Tests.Protocol;

/// <summary>Splits bytes into a multi-segment <see cref="ReadOnlySequence{T}"/>, as a pipe or a WebSocket
/// message assembled from several receives hands them over.</summary>
internal static class SegmentedJson
{
    public static ReadOnlySequence<byte> Split(byte[] bytes, int segmentLength)
    {
        Segment? first = null, last = null;
        for (var start = 0; start < bytes.Length; start += segmentLength)
        {
            var memory = bytes.AsMemory(start, Math.Min(segmentLength, bytes.Length - start));
            var segment = new Segment(memory, start);
            if (last is null) first = segment;
            else last.SetNext(segment);
            last = segment;
        }
        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
