# TLB shootdown: latency of taking guest memory away (punch-hole, madvise(DONTNEED),
# munmap, memslot delete) vs running vCPUs, with/without host threads touching the
# same mapping; IPIs per operation; the will-it-scale tlb_flush2 reference.
name = 'shootdown'
load plots.'/common.gp'

lat = table('latency')
ops = 'punch madvise munmap slot_delete punch_2m'
opcolor(i) = word('#1f77b4 #2ca02c #d62728 #9467bd #ff7f0e', i)
# Spread the series a little around each vCPU count so the bars do not overlap.
xoff(i, t) = ((i - 3) * 0.07 + t * 0.035)
sel(i, t, v) = (strcol('op') eq word(ops, i) && column('host_touchers') == t) ? v : NaN
tname(t) = t == 0 ? 'no host touchers' : '+ host touchers'
# punch_2m runs in --full only: plot the operations present.
stats lat using (strcol('op') eq 'punch_2m' ? 1 : 0) nooutput
nops = STATS_sum > 0 ? 5 : 4

set multiplot

# ---- top: latency ---------------------------------------------------------------------
set origin 0, 0.42
set size 1, 0.58
set title 'Latency per operation (median, bars p10-p90) vs running vCPUs'
set xlabel 'running vCPUs (pinned round-robin; 2 x nproc oversubscribes)'
set ylabel 'latency (µs, log)'
set logscale y
stats lat using 'vcpus' nooutput
set xrange [-0.5:STATS_max + 0.5]
set xtics 1
set key outside right top vertical spacing 1.05 font ',9'
plot for [i=1:nops] for [t=0:1] lat \
	using ($3 + xoff(i, t)):(sel(i, t, column('median_ns') / 1000)):(sel(i, t, column('p10_ns') / 1000)):(sel(i, t, column('p90_ns') / 1000)) \
	with yerrorlines lc rgb opcolor(i) dt 1+t pt 7-t ps 0.8 \
	title word(ops, i).', '.tname(t), \
     lat using 'vcpus':(column('ref_shootdown_ns') / 1000) with lines lc rgb 'black' dt 4 lw 1.5 \
	title 'ref: anon madvise, mm live on another CPU', \
     lat using 'vcpus':(column('ref_local_ns') / 1000) with lines lc rgb 'gray40' dt 3 lw 1.5 \
	title 'ref: same, mm on this CPU only'
unset logscale y
unset key

# ---- bottom: IPIs per operation and will-it-scale ---------------------------------------
set size 0.25, 0.42
set origin 0, 0
set title 'TLB IPIs / op (4K ops, slot)'
set ylabel 'TLB shootdown IPIs / op (/proc/interrupts)'
set xlabel 'running vCPUs'
set yrange [0:*]
plot for [i=1:4] for [t=0:1] lat using ($3 + xoff(i, t)):(sel(i, t, column('tlb_ipis_per_op'))) \
	with linespoints lc rgb opcolor(i) dt 1+t pt 7-t ps 0.8 notitle

set origin 0.25, 0
set title 'CAL IPIs / op (4K ops, slot)'
set ylabel 'function-call IPIs / op (/proc/interrupts)'
plot for [i=1:4] for [t=0:1] lat using ($3 + xoff(i, t)):(sel(i, t, column('cal_ipis_per_op'))) \
	with linespoints lc rgb opcolor(i) dt 1+t pt 7-t ps 0.8 notitle

set origin 0.5, 0
set title 'Operation / paired anon shootdown'
set ylabel 'median ratio (same instant, same CPUs)'
set yrange [0:*]
plot for [i=1:3] for [t=0:1] lat using ($3 + xoff(i, t)):(sel(i, t, column('ratio_to_paired'))) \
	with linespoints lc rgb opcolor(i) dt 1+t pt 7-t ps 0.8 notitle, \
     1 with lines lc rgb 'black' dt 3 notitle

set origin 0.75, 0
stats table('wis') using 'threads' nooutput
set xrange [0.5:STATS_max + 0.5]
set title 'will-it-scale tlb_flush2'
set xlabel 'threads (one mm, pinned)'
set ylabel 'operations / s (all threads)'
set y2label 'TLB IPIs / op'
set y2tics
set y2range [0:*]
set ytics nomirror
set key inside bottom center font ',9'
plot table('wis') using 'threads':'ops_per_s' with linespoints lc rgb 'black' pt 7 title 'ops/s', \
     table('wis') using 'threads':'tlb_ipis_per_op' axes x1y2 with linespoints lc rgb 'gray50' dt 2 pt 6 title 'IPIs/op'

unset multiplot
