# bounce: swiotlb-style bounce buffers vs direct I/O, and fio through a shared buffer.
# Tables (bench/bounce/): bounce-{write,read}.csv (bounced GB/s per threads x areas),
# bounce-direct-{write,read}.csv (direct GB/s per thread count), bounce-floor-{write,read}.csv
# (fraction of the two-copy memcpy floor), bounce-fio.csv (fio GB/s per buffer kind).
name = 'bounce'
load plots.'/common.gp'

# Number of columns of a table (the first is the x value).
ncols(t) = (system(sprintf("head -n 1 '%s' 2>/dev/null | tr ',' '\\n' | wc -l", t)) + 0)

set multiplot layout 2,2 title 'Bounce buffers: swiotlb-style 2 KiB-slot pool (bounce) vs direct copy, and fio with a shared buffer'
set logscale x 2
set xrange [360:1500000]
set xtics ('512' 512, '1K' 1024, '4K' 4096, '16K' 16384, '64K' 65536, '256K' 262144, '1M' 1048576)
set key inside top left font ',9' samplen 2 spacing 0.9
set yrange [0:*]
# Headroom above the data for the key.
set offsets 0, 0, graph 0.45, 0
set ylabel 'GB/s (payload)'
set xlabel 'I/O size (bytes)'

# Panels 1-2: bounced (solid) and direct (dashed) throughput.
do for [dn in 'write read'] {
	nb = ncols(table(dn)) - 1
	nd = ncols(table('direct-'.dn)) - 1
	set title sprintf('%s: bounced (solid) vs direct (dashed)', dn)
	if (nb > 0) {
		plot for [i=2:nb+1] table(dn) using 1:i lt (i-1) lw 2 pt 7 ps 0.6, \
		     for [i=2:nd+1] table('direct-'.dn) using 1:i lt (i-1) dt 2 lw 1.5 pt 6 ps 0.6
	} else {
		set label 1 'not measured in this run' at graph 0.5, 0.5 center
		plot [512:1048576] [0:1] NaN notitle
		unset label 1
	}
}

# Panel 3: fraction of the floor (memcpy GB/s / 2: two copies per bounced byte).
set title 'bounced GB/s / (memcpy GB/s / 2): write solid, read dashed'
set ylabel 'fraction of the two-copy floor'
nw = ncols(table('floor-write')) - 1
nr = ncols(table('floor-read')) - 1
plot for [i=2:nw+1] table('floor-write') using 1:i lt (i-1) lw 2 pt 7 ps 0.6, \
     for [i=2:nr+1] table('floor-read') using 1:i lt (i-1) dt 2 lw 1.5 pt 6 ps 0.6, \
     1 with lines lc 'gray50' dt 3 title 'floor'

# Panel 4: fio, psync on a tmpfs file, buffer private (malloc) vs a shared memfd.
set title 'fio psync on tmpfs: buffer malloc vs shared memfd (not bounced)'
set ylabel 'GB/s'
set xlabel 'fio block size (bytes)'
if (ncols(table('fio')) > 1) {
	plot table('fio') using 1:2 lt 1 lw 2 pt 7, '' using 1:3 lt 1 dt 2 lw 2 pt 6, \
	     '' using 1:4 lt 2 lw 2 pt 7, '' using 1:5 lt 2 dt 2 lw 2 pt 6
} else {
	# No fio table: the run's notes say why (fio missing, --set fio=0).
	set label 1 'fio variant skipped (see the notes in bounce.json)' at graph 0.5, 0.5 center
	plot [512:1048576] [0:1] NaN notitle
	unset label 1
}
unset multiplot
