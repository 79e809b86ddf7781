package io.matryoshka.codec;

/**
 * Where one field's codes were written in the segment's {@code .veb} file.
 *
 * @param centroid the mean the codes were centred on
 * @param levelOffsets start of each nested level's block
 * @param correctivesOffset start of the per-document corrective terms (0 with one bit)
 * @param rotationOffset start of the rotation matrix (0 without rotation)
 * @param rotationRows rows of the rotation matrix, each of {@code dims} floats (0 without rotation)
 * @param survivorOffset start of the survivor block
 */
record SegmentCodes(
    float[] centroid,
    long[] levelOffsets,
    long correctivesOffset,
    long rotationOffset,
    int rotationRows,
    long survivorOffset) {}
