# directmap: direct-map fragmentation by memfd_secret, with plain guest_memfd as the control.
# Tables: directmap-splits.csv (one row per memory/chunk/free-order phase),
#         directmap-drift.csv (DirectMap* and cumulative splits after each step of the run),
#         directmap-kcopy.csv (kernel copy GB/s before/after the sweep, per source buffer).
name = 'directmap'
load plots.'/common.gp'

# Zero splits cannot sit on a log axis: they are drawn at 1, below the axis (the label says so).
pos(x) = x > 0 ? x : 1
phase(a, b, c) = a.' '.b.' '.c

set multiplot layout 2,2 title 'directmap: kernel direct-map fragmentation by memory removed from it (splits last until reboot)'

# ---- splits per GiB ---------------------------------------------------------------------------
set title 'level-2 splits per GiB allocated: observed vs. on an unsplit direct map'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set logscale y
set format y '%g'
set ylabel 'splits per GiB (log; no bar = 0)'
set yrange [10:1e6]
set xtics rotate by 35 right font ',9'
set key inside top left box opaque font ',9'
plot table('splits') using (pos(column('level2_splits_per_gib'))):xtic(phase(strcol('mem'), strcol('chunk'), strcol('free_order'))) \
		title 'observed: direct_map_level2_splits / GiB' lc rgb '#d62728', \
	'' using (pos(column('regions_2m_per_gib'))) title 'distinct 2 MiB regions touched / GiB (splits if unsplit)' lc rgb '#1f77b4'

# ---- DirectMap drift ----------------------------------------------------------------------------
set title 'DirectMap4k and cumulative splits over the run'
set style data linespoints
unset logscale y
# stats honours the ranges in force: clear them first.
set yrange [*:*]
stats table('drift') using 'directmap4k_mib' nooutput
dm_lo = STATS_min - 2
dm_hi = STATS_max + 2
stats table('drift') using 'level2_splits' nooutput
s2max = STATS_max
stats table('drift') using 'level3_splits' nooutput
s2max = (STATS_max > s2max ? STATS_max : s2max)
set yrange [dm_lo:dm_hi]
set y2range [0:(s2max > 0 ? s2max * 1.1 : 1)]
set ylabel 'DirectMap4k (MiB)'
set y2label 'splits since the start of the run'
set y2tics
set ytics nomirror
set key inside top left box opaque font ',9'
plot table('drift') using 'step':'directmap4k_mib':xtic(strcol('label')) axes x1y1 title 'DirectMap4k (MiB)' lw 2 pt 7 lc rgb '#1f77b4', \
	'' using 'step':'level2_splits' axes x1y2 title 'level-2 splits (2M -> 4K)' lw 2 dt 2 pt 5 lc rgb '#d62728', \
	'' using 'step':'level3_splits' axes x1y2 title 'level-3 splits (1G -> 2M)' lw 2 dt 3 pt 9 lc rgb '#ff7f0e', \
	'' using 'step':(column('level2_collapses') + column('level3_collapses')) axes x1y2 title 'collapses' lw 1 dt 4 pt 4 lc rgb '#2ca02c'
unset y2tics
unset y2label
set ytics mirror

# ---- kernel copy -------------------------------------------------------------------------------
set title 'kernel copy before vs. after the sweep (bar: median, line: min-max)'
set ylabel 'GB/s'
set yrange [0:*]
set xtics norotate center font ',9'
set key inside top left box opaque font ',9'
set offsets 0, 0, graph 0.2, 0
set bmargin 4
kc(s, b, pct) = s.' '.b."\n".(pct == pct ? sprintf('%.0f%% split', pct) : 'placement unknown')

stats table('kcopy') using 'i' nooutput
set xrange [-0.6:STATS_max + 0.6]
set boxwidth 0.38 absolute
plot table('kcopy') using (column('i') - 0.2):'before_gbs' with boxes title 'before (old buffer)' lc rgb '#7f7f7f', \
	'' using (column('i') + 0.2):'after_gbs' with boxes title 'after' lc rgb '#1f77b4', \
	'' using (column('i') - 0.2):'before_min':(0):(column('before_max') - column('before_min')) with vectors nohead lw 1.5 lc rgb 'black' notitle, \
	'' using (column('i') + 0.2):'after_min':(0):(column('after_max') - column('after_min')) with vectors nohead lw 1.5 lc rgb 'black' notitle, \
	'' using 'i':(0):xtic(kc(strcol('source'), strcol('buffer'), column('pct_pages_in_split_regions'))) with points pt 0 lc rgb '#ff000000' notitle

set offsets 0, 0, 0, 0
set bmargin
# ---- allocation cost ------------------------------------------------------------------------------
set title 'cost per page by chunk size (median)'
set style data linespoints
set logscale x 2
set logscale y
set xtics ('4K' 4, '16K' 16, '64K' 64, '256K' 256, '512K' 512, '2M' 2048) norotate center font ',9'
set xrange [3:2800]
set yrange [*:*]
set xlabel 'chunk size (one file per chunk)'
set ylabel 'ns per 4K page (log)'
set key inside bottom left box opaque font ',8'
sel(m, o, col) = (strcol('mem') eq m && strcol('free_order') eq o) ? column(col) : NaN
plot table('splits') using 'chunk_kib':(sel('secretmem', 'seq', 'alloc_ns_per_page')) title 'secretmem alloc+touch (seq free)' lw 2 pt 7 lc rgb '#d62728', \
	'' using 'chunk_kib':(sel('secretmem', 'random', 'alloc_ns_per_page')) title 'secretmem alloc+touch (random free)' lw 2 dt 2 pt 6 lc rgb '#d62728', \
	'' using 'chunk_kib':(sel('gmem', 'seq', 'alloc_ns_per_page')) title 'guest_memfd alloc+touch (control)' lw 2 pt 5 lc rgb '#1f77b4', \
	'' using 'chunk_kib':(sel('secretmem', 'seq', 'free_ns_per_page')) title 'secretmem free, seq' lw 1 pt 9 lc rgb '#ff7f0e', \
	'' using 'chunk_kib':(sel('secretmem', 'random', 'free_ns_per_page')) title 'secretmem free, random' lw 1 dt 2 pt 8 lc rgb '#ff7f0e', \
	'' using 'chunk_kib':(sel('gmem', 'seq', 'free_ns_per_page')) title 'guest_memfd free (control)' lw 1 pt 4 lc rgb '#17becf'
unset multiplot
