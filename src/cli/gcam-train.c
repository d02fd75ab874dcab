/* gcam-train: trains or fine-tunes a Darknet classifier. The program owns the process:
 * it reads the command line and turns Ctrl-C and SIGTERM into a stop request (a second
 * one into an immediate exit). */
#include "gcam.h"

#include <stdio.h>

static const char usage[] =
    "usage: gcam-train CFG [options]\n"
    "\n"
    "Trains the classifier in CFG (a Darknet cfg). Settings come from the cfg's [gcam]\n"
    "section, then from the options below.\n"
    "\n"
    "-data takes a folder of images by class, DIR/<class>/... (split by valid_fraction\n"
    "and split_seed) or DIR/train/<class>/... beside DIR/valid/<class>/..., or a Darknet\n"
    ".data file. For a folder, the classes and the split are written into the backup\n"
    "folder as labels.txt and <folder>.data, for the other programs and stock Darknet.\n"
    "\n"
    "Writes under the backup folder: <cfg>_last.weights (with .state, the momentum, and\n"
    ".maps, the saliency map cache, for exact resumption), <cfg>_<iter>.weights,\n"
    "<cfg>_best.weights (best valid top-1), <cfg>_final.weights, the log <cfg>.csv and\n"
    "the training chart chart.png. Every file is written atomically. Ctrl-C or SIGTERM\n"
    "stops within one batch (validation is abandoned), saves <cfg>_last.weights and exits\n"
    "with status 130 or 143; a second one exits at once. Unreadable images are\n"
    "reported and skipped; more than 1% of the data set (at least 10 images) stops the run.\n"
    "One run per backup folder: a run holds <backup>/.lock, and a second run there exits 1.\n"
    "Exit status: 0 done, 1 error, 2 bad arguments.\n"
    "\n"
    "Data-parallel training: mpirun -np N gcam-train CFG [options] trains with N ranks\n"
    "(add --allow-run-as-root as root; across hosts, -hostfile HOSTS, with the cfg, data\n"
    "and backup paths visible on every host). The cfg's batch is the job's: each rank\n"
    "trains batch / (subdivisions x N) images per pass and the gradients are summed before\n"
    "every update. Rank 0 writes every file; an error on any rank stops the job.\n"
    "\n"
    "Saliency-guided augmentation (saliency=1): every saliency_every iterations, maps of\n"
    "the batch just trained on (true classes, current weights, inference mode) go into a\n"
    "per-image cache of saliency_map_size^2-cell maps in the images' own coordinates.\n"
    "Later batches reuse them: each map follows its image's augmentation, and drives a\n"
    "crop around the salient region, a drop mask (erase it), a keep mask (blur the rest)\n"
    "or a cutout where saliency is low, each with its probability. Images without a map\n"
    "get the standard augmentation. <backup>/heatmaps/<iter>.png shows fixed validation\n"
    "images with their maps.\n";

int main(int argc, char **argv) {
    gcam_stop_signals_start(); /* before any thread */
    gcam_error err;
    if (gcam_distributed_start(&argc, &argv, &err) < 0) {
        fprintf(stderr, "gcam-train: %s\n", err.message);
        return 1;
    }
    gcam_settings s;
    gcam_args args;
    int exit_status =
        gcam_settings_parse_program(&s, GCAM_PROGRAM_TRAIN, usage, argc, argv, 1, 1, &args);
    if (exit_status >= 0) {
        gcam_distributed_stop();
        return exit_status;
    }
    gcam_args_free(&args);
    /* again after MPI's start, whose handlers it replaces */
    const volatile sig_atomic_t *stop = gcam_stop_signals_start();
    int status = gcam_train_run(&s, stop, &err);
    if (status < 0) fprintf(stderr, "gcam-train: %s\n", err.message);
    gcam_distributed_stop();
    return status < 0 ? 1 : (status > 0 ? 128 + status : 0);
}
